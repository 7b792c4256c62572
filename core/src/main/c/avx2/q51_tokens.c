/* RedHare native kernel for AVX2 CPUs: Q5_1 in integers, form 7 of five_tokens.h (read there what it does). */
#define FORM 7
#define NAME q51_tokens
#include "five_tokens.h"
