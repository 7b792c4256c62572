/* RedHare native kernel: Q5_K in integers, form 2 of vnni_tokens.h (read there what it does). */
#define FORM 2
#define VNNI_NAME q5k_tokens
#include "vnni_tokens.h"
