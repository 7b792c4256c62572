/* RedHare native kernel: Q5_0 in integers, form 6 of vnni_tokens.h (read there what it does). */
#define FORM 6
#define VNNI_NAME q50_tokens
#include "vnni_tokens.h"
