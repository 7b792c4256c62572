/* RedHare native kernel: IQ4_XS in integers, form 9 of vnni_tokens.h (read there what it does). */
#define FORM 9
#define VNNI_NAME iq4xs_tokens
#include "vnni_tokens.h"
