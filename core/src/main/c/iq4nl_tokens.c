/* RedHare native kernel: IQ4_NL in integers, form 8 of vnni_tokens.h (read there what it does). */
#define FORM 8
#define VNNI_NAME iq4nl_tokens
#include "vnni_tokens.h"
