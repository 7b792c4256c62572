/* RedHare native kernel: Q3_K in integers, form 10 of vnni_tokens.h (read there what it does). */
#define FORM 10
#define VNNI_NAME q3k_tokens
#include "vnni_tokens.h"
