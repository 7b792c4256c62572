/* RedHare native kernel for AVX2 CPUs: Q3_K in integers, form 10 of small_tokens.h (read there what it does). */
#define FORM 10
#define NAME q3k_tokens
#include "small_tokens.h"
