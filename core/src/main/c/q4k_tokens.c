/* RedHare native kernel: Q4_K in integers, form 3 of vnni_tokens.h (read there what it does). */
#define FORM 3
#define VNNI_NAME q4k_tokens
#include "vnni_tokens.h"
