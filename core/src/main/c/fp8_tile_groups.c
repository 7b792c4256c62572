/*
 * RedHare native kernel: f32_tile_groups.c with the widening of the FP8 codes done inside the first token group's loop,
 * as bf16_tiles.c does for BF16 rows. Fp8BlockMatrix's prompt pass (six tokens and more: a prompt, or a decode step of
 * several users) widened a column chunk of five rows into its tile in Java, in a pass of its own (four integer and float
 * operations a vector, none of them overlapping an FMA), then ran every token group over the tile. Here the first group
 * widens each 64-column group of the five rows (QuantKernels' byte tile layout: 64 codes a row) into the tile and takes
 * its FMAs on the way; the later groups read the tile. The tile holds the floats Fp8BlockMatrix.widen computes (code
 * bits shifted into place, masked with 0x87F00000, times the matrix's tile scale), and every (row, token) sum takes the
 * FMAs of FloatTiles.tile5tokens4 in its order, so the bits are the Java pass's (Fp8BlockMatrixTest compares them).
 *
 * Arguments: args {blocks, groups, xo, full, to, ao, so, first, last, c0, h, scale, rows[5], strides[5]} (one array), xp, buf.
 * - blocks: 32-column blocks from column c0 on, an even number (whole 64-column groups).
 * - rows[i], strides[i]: row i's codes of columns c0 .. c0 + 63 start at address rows[i], each next 64 columns strides[i]
 *   bytes further; rows h .. 4 are zeros in the tile (their sums are dropped). scale: the tile scale's float bits.
 * - The rest as in f32_tile_groups.c (tile at buf + to: block b, row i at + 160 b + 32 i; activations, accumulators, sums).
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.NativeCode carries.
 */
#include "widen_groups.h"

/* Row I's 64 codes widened into blocks b and b + 1 of the tile; block b's FMAs taken on the way. */
#define WIDEN_ROW8(A, I) { \
        const __m512i v = (I) < h ? _mm512_loadu_si512((const void *) (rows[I] + k * strides[I])) : _mm512_setzero_si512(); \
        const __m512 we = _mm512_mul_ps(_mm512_castsi512_ps(_mm512_and_si512(_mm512_srai_epi32(_mm512_slli_epi32(v, 24), 4), mask)), scale); \
        const __m512 wo = _mm512_mul_ps(_mm512_castsi512_ps(_mm512_and_si512(_mm512_srai_epi32(_mm512_slli_epi32(v, 16), 4), mask)), scale); \
        _mm512_storeu_ps(t + 32 * (I), we); \
        _mm512_storeu_ps(t + 32 * (I) + 16, wo); \
        ROW_FMAS(A, we, wo) \
        _mm512_storeu_ps(t + 160 + 32 * (I), \
            _mm512_mul_ps(_mm512_castsi512_ps(_mm512_and_si512(_mm512_srai_epi32(_mm512_slli_epi32(v, 8), 4), mask)), scale)); \
        _mm512_storeu_ps(t + 160 + 32 * (I) + 16, \
            _mm512_mul_ps(_mm512_castsi512_ps(_mm512_and_si512(_mm512_srai_epi32(v, 4), mask)), scale)); }

void fp8_tile_groups(const long *args, const float *xp, float *buf) {
    GROUP_ARGS
    const long h = args[10];
    union { long l; float f[2]; } bits;
    bits.l = args[11];
    const __m512 scale = _mm512_set1_ps(bits.f[0]);
    const __m512i mask = _mm512_set1_epi32((int) 0x87F00000);
    ROWS_AT(12)
    const long *const strides = args + 17;
    WIDEN_GROUPS_BODY
}
