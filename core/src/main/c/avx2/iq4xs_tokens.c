/* RedHare native kernel for AVX2 CPUs: IQ4_XS in integers, form 9 of small_tokens.h (read there what it does). */
#define FORM 9
#define NAME iq4xs_tokens
#include "small_tokens.h"
