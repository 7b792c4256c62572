/* RedHare native kernel: Q6_K in integers, form 0 of vnni_tokens.h (read there what it does). */
#define FORM 0
#define VNNI_NAME q6k_tokens
#include "vnni_tokens.h"
