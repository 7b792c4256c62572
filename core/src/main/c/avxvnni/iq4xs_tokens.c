/* RedHare native kernel for CPUs with AVX2 and AVX-VNNI: ../avx2/iq4xs_tokens.c built with VPDPBUSD (read there what it does). */
#include "../avx2/iq4xs_tokens.c"
