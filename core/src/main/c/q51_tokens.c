/* RedHare native kernel: Q5_1 in integers, form 7 of vnni_tokens.h (read there what it does). */
#define FORM 7
#define VNNI_NAME q51_tokens
#include "vnni_tokens.h"
