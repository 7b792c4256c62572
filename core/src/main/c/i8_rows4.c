/*
 * RedHare native kernel: int8 codes with a scale per row (Int8RowMatrix, the LM head's screen) times one token's
 * activations; see rows4.h for the layout, the arguments and why the bits match the Java kernel. Byte k of a lane
 * widens as (lane << (24 - 8k)) >> 24, arithmetic, converted to float (exact: |code| <= 127); the caller multiplies
 * each row's sum by its scale.
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.NativeCode carries.
 */
#include "rows4.h"

#define I8_WIDEN(v, k) _mm512_cvtepi32_ps(_mm512_srai_epi32((k) == 3 ? (v) : _mm512_slli_epi32(v, 24 - 8 * (k)), 24))

void i8_rows4(const unsigned char *codes, long tiles, long cols, long full, float *buf, long xo, long oo, long ahead) {
    ROWS4_BODY(I8_WIDEN)
}
