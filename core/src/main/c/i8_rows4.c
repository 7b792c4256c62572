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

/*
 * Each byte widened from the group's vector by shifts (bytes 0, 1 and 2 up to the top, then down). They used to be the
 * top bytes of vectors loaded 3, 2 and 1 bytes before the group (one shift less each), but a 64-byte load off its
 * alignment crosses two cache lines, and three of them a row and group read the head's screen from DRAM at less than
 * half the speed on an AMD EPYC Zen 5 host: [151936 x 896] one thread 11.2-12.0 GB/s with the loads, 22.5-32.9 with the
 * shifts (in cache 37.7 and 38.5; docs/PERFORMANCE.md, sixty-ninth session).
 */
#define I8_ROW(A, J, UNUSED) { \
        const __m512i v = _mm512_loadu_si512((const void *) (q + 64 * (J))); \
        A = _mm512_fmadd_ps(I8_WIDEN(v, 0), x0, A); \
        A = _mm512_fmadd_ps(I8_WIDEN(v, 1), x1, A); \
        A = _mm512_fmadd_ps(I8_WIDEN(v, 2), x2, A); \
        A = _mm512_fmadd_ps(I8_WIDEN(v, 3), x3, A); }

void i8_rows4(const unsigned char *codes, long tiles, long cols, long full, float *buf, long xo, long oo, long ahead) {
    ROWS4_LOOP(I8_ROW, 0)
}
