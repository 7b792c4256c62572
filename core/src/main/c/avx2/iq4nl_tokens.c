/* RedHare native kernel for AVX2 CPUs: IQ4_NL in integers, form 8 of small_tokens.h (read there what it does). */
#define FORM 8
#define NAME iq4nl_tokens
#include "small_tokens.h"
