/*
 * RedHare native kernel: fp8_tile_groups.c for int8 codes with a float scale per block of columns (Q8_0Matrix: GGML
 * Q8_0, and Q6_K, Q3_K, IQ4_NL, IQ4_XS once unpacked to bytes). Q8_0Matrix's prompt pass (a prompt, or a decode step of
 * several users) widened a column chunk of five rows into its tile in Java, in a pass of its own, then ran every token
 * group over it (f32_tile_groups.c). Here the first group widens each 64-column group of the five rows into the tile
 * (QuantKernels' byte tile layout: byte m of 32-bit lane l is column c + 16 m + l) and takes its FMAs on the way. The
 * tile holds the floats Q8_0Matrix.widen5 computes (the code sign-extended, converted, times its block's scale), and
 * every (row, token) sum takes the FMAs of FloatTiles.tile5tokens4 in its order, so the bits are the Java pass's
 * (GgmlMatrixTest compares them).
 *
 * Arguments: args {blocks, groups, xo, full, to, ao, so, first, last, c0, bwShift, rows[5], strides[5], sbases[5]}
 * (one array), xp, buf, scales.
 * - rows[i], strides[i]: row i's codes of columns c0 .. c0 + 63 start at address rows[i], each next 64 columns strides[i]
 *   bytes further. The scale of row i's column c is scales[sbases[i] + 4 (c >> bwShift)].
 * - The rest as in f32_tile_groups.c.
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.NativeCode carries.
 */
#include "widen_groups.h"

/* Byte m of every lane of v, sign-extended, as floats, times its block's scale. */
#define Q8_WIDEN(v, m, I, c) _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srai_epi32((m) == 3 ? (v) : _mm512_slli_epi32(v, 24 - 8 * (m)), 24)), \
        _mm512_set1_ps(scales[sbases[I] + (((c) + 16 * (m)) >> bwShift) * 4]))

/* Row I's 64 codes widened into blocks b and b + 1 of the tile; block b's FMAs taken on the way. */
#define WIDEN_ROW8(A, I) { \
        const long c = c0 + 64 * k; \
        const __m512i v = _mm512_loadu_si512((const void *) (rows[I] + k * strides[I])); \
        const __m512 we = Q8_WIDEN(v, 0, I, c); \
        const __m512 wo = Q8_WIDEN(v, 1, I, c); \
        _mm512_storeu_ps(t + 32 * (I), we); \
        _mm512_storeu_ps(t + 32 * (I) + 16, wo); \
        ROW_FMAS(A, we, wo) \
        _mm512_storeu_ps(t + 160 + 32 * (I), Q8_WIDEN(v, 2, I, c)); \
        _mm512_storeu_ps(t + 160 + 32 * (I) + 16, Q8_WIDEN(v, 3, I, c)); }

void q8_tile_groups(const long *args, const float *xp, float *buf, const float *scales) {
    GROUP_ARGS
    const long bwShift = args[10];
    ROWS_AT(11)
    const long *const strides = args + 16;
    const long *const sbases = args + 21;
    WIDEN_GROUPS_BODY
}
