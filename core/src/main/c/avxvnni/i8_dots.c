/* RedHare native kernel for CPUs with AVX2 and AVX-VNNI: ../avx2/i8_dots.c built with VPDPBUSD (read there what it does). */
#include "../avx2/i8_dots.c"
