/* RedHare native kernel for AVX2 CPUs: Q2_K in integers, form 11 of small_tokens.h (read there what it does). */
#define FORM 11
#define NAME q2k_tokens
#include "small_tokens.h"
