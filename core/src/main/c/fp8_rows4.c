/*
 * RedHare native kernel: FP8-E4M3 codes (Fp8BlockMatrix's tile layout) times one token's activations; see rows4.h
 * for the layout, the arguments and why the bits match the Java kernel. A code widens to the float with bits
 * ((code << 24) >> 4 arithmetic) & 0x87F00000 (byte k of a lane: shifted left by 24 - 8k first): sign, exponent and
 * mantissa in place, the value times 2^-120, which the caller's activation scaling undoes. Subnormal codes come out
 * as subnormal floats, exactly.
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.NativeCode carries.
 */
#include "rows4.h"

#define FP8_MASK _mm512_set1_epi32((int) 0x87F00000)
#define FP8_WIDEN(v, k) _mm512_castsi512_ps(_mm512_and_si512(_mm512_srai_epi32((k) == 3 ? (v) : _mm512_slli_epi32(v, 24 - 8 * (k)), 4), FP8_MASK))

void fp8_rows4(const unsigned char *codes, long tiles, long cols, long full, float *buf, long xo, long oo, long ahead) {
    ROWS4_BODY(FP8_WIDEN)
}
