/* RedHare native kernel: Q4_1 in integers, form 5 of vnni_tokens.h (read there what it does). */
#define FORM 5
#define VNNI_NAME q41_tokens
#include "vnni_tokens.h"
