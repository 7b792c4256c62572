/* RedHare native kernel: Q8_0 in integers, form 1 of vnni_tokens.h (read there what it does). */
#define FORM 1
#define VNNI_NAME q8i_tokens
#include "vnni_tokens.h"
