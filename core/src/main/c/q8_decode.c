/*
 * RedHare native kernel: one token through a run of whole tiles of int8 codes with a float scale per block of columns
 * (Q8_0Matrix: Q8_0's blocks of 32, Q6_K's of 16), rows of whole 64-column groups, from the activations to the outputs.
 * The Java kernel's arithmetic (Q8_0Matrix.tiles2x1BlockStream, finish4x1): byte k of each 32-bit lane sign-extended
 * ((lane << (24 - 8k)) >> 24, arithmetic), converted to float, times its block's scale, then one FMA with the
 * activations, bytes 0 to 3 in turn; each row's 16 lanes added in VectorMath.sum's tree (lanes.h), plus the empty tail
 * (0.0f). So the same bits. Before this the one-token Q8_0 decode ran in Java at about half the memory bandwidth
 * (docs/PERFORMANCE.md, fifty-third session).
 *
 * Every byte widens from the group's one aligned load (shifts up and down). Bytes 0, 1 and 2 used to be the top bytes
 * of vectors loaded 3, 2 and 1 bytes before the group (one shift less each; qwen2.5-0.5b Q8_0 one-thread decode then
 * went 36.3-36.4 -> 37.6-38.0 tok/s on a Zen 4 host), but a 64-byte load off its alignment crosses two cache lines, and
 * on an AMD EPYC Zen 5 host such loads halved the speed of reading from DRAM in the int8 screen's kernel of the same
 * form (i8_rows4.c; docs/PERFORMANCE.md, sixty-ninth session).
 *
 * Layout: rows4.h's (tile k at codes + 4 * cols * k, row j's vector of group c at + 4 c + 64 j, byte b of lane l the code
 * of column c + 16 b + l); the scales of tile k at scales + 4 * nb * k, block b's for row j at [4 b + j].
 *
 * Arguments: args = {codes (address of the first tile), tiles, cols (a multiple of 64), ahead (as rows4.h), shift
 * (log2 of the block width, at least 4), nb (blocks per row)}; x: the activations (cols floats); scales: the first tile's
 * scales; y: row 4 k + j's output at y[4 k + j].
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.NativeCode carries.
 */
#include "lanes.h"

#define Q8_CODE(v, k) _mm512_cvtepi32_ps(_mm512_srai_epi32((k) == 3 ? (v) : _mm512_slli_epi32(v, 24 - 8 * (k)), 24))

#define Q8_LOAD(o) _mm512_loadu_si512((const void *) (q + (o)))

#define Q8_ROW(A, J) { \
        const __m512i v = Q8_LOAD(64 * (J)); \
        const __m512 w0 = Q8_CODE(v, 0), w1 = Q8_CODE(v, 1), w2 = Q8_CODE(v, 2); \
        A = _mm512_fmadd_ps(_mm512_mul_ps(w0, _mm512_set1_ps(s[4 * b0 + (J)])), x0, A); \
        A = _mm512_fmadd_ps(_mm512_mul_ps(w1, _mm512_set1_ps(s[4 * b1 + (J)])), x1, A); \
        A = _mm512_fmadd_ps(_mm512_mul_ps(w2, _mm512_set1_ps(s[4 * b2 + (J)])), x2, A); \
        A = _mm512_fmadd_ps(_mm512_mul_ps(Q8_CODE(v, 3), _mm512_set1_ps(s[4 * b3 + (J)])), x3, A); }

void q8_decode(const long *args, const float *x, const float *scales, float *y) {
    const unsigned char *const codes = (const unsigned char *) args[0];
    const long tiles = args[1], cols = args[2], ahead = args[3], shift = args[4], nb = args[5];
    for (long k = 0; k < tiles; k++) {
        const unsigned char *p = codes + 4 * cols * k;
        const float *const s = scales + 4 * nb * k;
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps();
        for (long c = 0; c < cols; c += 64) {
            const unsigned char *q = p + 4 * c;
            PREFETCH_AHEAD(q, ahead)
            const long b0 = c >> shift, b1 = (c + 16) >> shift, b2 = (c + 32) >> shift, b3 = (c + 48) >> shift;
            const __m512 x0 = _mm512_loadu_ps(x + c), x1 = _mm512_loadu_ps(x + c + 16);
            const __m512 x2 = _mm512_loadu_ps(x + c + 32), x3 = _mm512_loadu_ps(x + c + 48);
            Q8_ROW(a0, 0)
            Q8_ROW(a1, 1)
            Q8_ROW(a2, 2)
            Q8_ROW(a3, 3)
        }
        float t[4];
        LANE_SUMS4(a0, a1, a2, a3, t)
        y[4 * k] = t[0] + 0.0f;
        y[4 * k + 1] = t[1] + 0.0f;
        y[4 * k + 2] = t[2] + 0.0f;
        y[4 * k + 3] = t[3] + 0.0f;
    }
}
