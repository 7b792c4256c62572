/* RedHare native kernel: Q4_0 in integers, form 4 of vnni_tokens.h (read there what it does). */
#define FORM 4
#define VNNI_NAME q40_tokens
#include "vnni_tokens.h"
