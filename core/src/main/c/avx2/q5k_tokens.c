/* RedHare native kernel for AVX2 CPUs: Q5_K in integers, form 2 of five_tokens.h (read there what it does). */
#define FORM 2
#define NAME q5k_tokens
#include "five_tokens.h"
