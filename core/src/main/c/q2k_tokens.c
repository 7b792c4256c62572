/* RedHare native kernel: Q2_K in integers, form 11 of vnni_tokens.h (read there what it does). */
#define FORM 11
#define VNNI_NAME q2k_tokens
#include "vnni_tokens.h"
