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
#define I8_TOP(o) _mm512_cvtepi32_ps(_mm512_srai_epi32(_mm512_loadu_si512((const void *) (q + (o))), 24))

/*
 * Bytes 0, 1 and 2 from the vectors loaded 3, 2 and 1 bytes before the group, where each is its lane's top byte (one
 * shift instead of two; the bytes below are the previous group's or row's, shifted out), as q8_decode.c does; before
 * the call's first group those bytes may lie outside the codes, so there the shifts up and down run.
 */
#define I8_ROW(A, J, UNUSED) { \
        const __m512i v = _mm512_loadu_si512((const void *) (q + 64 * (J))); \
        const int later = (k | c) != 0; \
        A = _mm512_fmadd_ps(later ? I8_TOP(64 * (J) - 3) : I8_WIDEN(v, 0), x0, A); \
        A = _mm512_fmadd_ps(later ? I8_TOP(64 * (J) - 2) : I8_WIDEN(v, 1), x1, A); \
        A = _mm512_fmadd_ps(later ? I8_TOP(64 * (J) - 1) : I8_WIDEN(v, 2), x2, A); \
        A = _mm512_fmadd_ps(I8_WIDEN(v, 3), x3, A); }

void i8_rows4(const unsigned char *codes, long tiles, long cols, long full, float *buf, long xo, long oo, long ahead) {
    ROWS4_LOOP(I8_ROW, 0)
}
