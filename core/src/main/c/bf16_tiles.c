/*
 * RedHare native kernel: a few tokens (two to eight groups of four: a decode step of several users) times BF16 rows,
 * five rows a tile, as Bf16Matrix's few-token pass takes them in Java (widenTile5tokens4, then FloatTiles.tile5tokens4
 * for the groups after the first, then the lane sums of finish5x4). Every (row, token) sum takes the same FMAs in
 * the same order as there: one 16-lane accumulator over the 32-column blocks in column order, for each block the
 * even columns' FMA and then the odd columns', then the lanes added in VectorMath.sum's tree. So the bits are the
 * Java kernels' (Bf16MatrixTest compares them).
 *
 * What machine code adds: PREFETCHT0 of the next tile's rows inside the loops, spread over the token groups (Java
 * cannot prefetch in a loop: a call there makes every vector register caller-saved), and no per-tile set-up.
 *
 * Layouts (floats unless said):
 * - Rows: tile k's row j (j = 0..4) starts at byte w + k * pitch + j * q * pitch (rows r + k + j q of the matrix);
 *   a 32-column block is 64 bytes: 16 32-bit lanes, each an even column (low half) and the odd one after it.
 * - Activations: group g (tokens 4g .. 4g + 3) of block b at xp + xo + g * 128 * blocks + 128 * b, token t's even
 *   columns at + 32 t and odd ones at + 32 t + 16 (Kernels.packTokens4, chunk 32).
 * - The widened tile (the first group writes it, the others read it) at buf + to: block b, row j at + 160 b + 32 j,
 *   even then odd, 160 * blocks floats.
 * - Sums: tile k, group g at buf + so + 20 (k * groups + g): row i (0..3) of token t at + 4 t + i, row 4 at + 16 + t.
 * ahead: bytes past a row's current block to prefetch (pitch: the same rows of the next tile).
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.NativeCode carries.
 */
#include "lanes.h"

#define ZERO4(R) __m512 R##0 = _mm512_setzero_ps(), R##1 = _mm512_setzero_ps(), R##2 = _mm512_setzero_ps(), R##3 = _mm512_setzero_ps();

/* Row J's FMAs for one block: even columns then odd, for each of the four tokens. */
#define ROW_FMAS(A, WE, WO) \
    A##0 = _mm512_fmadd_ps(WO, xd0, _mm512_fmadd_ps(WE, xe0, A##0)); \
    A##1 = _mm512_fmadd_ps(WO, xd1, _mm512_fmadd_ps(WE, xe1, A##1)); \
    A##2 = _mm512_fmadd_ps(WO, xd2, _mm512_fmadd_ps(WE, xe2, A##2)); \
    A##3 = _mm512_fmadd_ps(WO, xd3, _mm512_fmadd_ps(WE, xe3, A##3));

/* Widens row J's block from memory, stores it into the tile, and takes its FMAs. */
#define WIDEN_ROW(A, J) { \
        const __m512i v = _mm512_loadu_si512((const void *) (w + (J) * stride + 64 * b)); \
        const __m512 we = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)); \
        const __m512 wo = _mm512_castsi512_ps(_mm512_and_si512(v, high)); \
        _mm512_storeu_ps(t + 32 * (J), we); \
        _mm512_storeu_ps(t + 32 * (J) + 16, wo); \
        ROW_FMAS(A, we, wo) }

/* Row J's block from the tile. */
#define TILE_ROW(A, J) { \
        const __m512 we = _mm512_loadu_ps(t + 32 * (J)); \
        const __m512 wo = _mm512_loadu_ps(t + 32 * (J) + 16); \
        ROW_FMAS(A, we, wo) }

#define LOAD_X \
    const float *xb = x + 128 * b; \
    const __m512 xe0 = _mm512_loadu_ps(xb), xd0 = _mm512_loadu_ps(xb + 16); \
    const __m512 xe1 = _mm512_loadu_ps(xb + 32), xd1 = _mm512_loadu_ps(xb + 48); \
    const __m512 xe2 = _mm512_loadu_ps(xb + 64), xd2 = _mm512_loadu_ps(xb + 80); \
    const __m512 xe3 = _mm512_loadu_ps(xb + 96), xd3 = _mm512_loadu_ps(xb + 112);

#define PREFETCH_ROWS \
    for (long j = pa; j < pb; j++) { \
        _mm_prefetch((const char *) (w + ahead + j * stride + 64 * b), _MM_HINT_T0); \
    }

void bf16_tiles(const unsigned char *w, long tiles, long pitch, long q, long blocks, long groups,
                const float *xp, long xo, float *buf, long to, long so, long ahead) {
    const __m512i high = _mm512_set1_epi32((int) 0xFFFF0000);
    const long stride = q * pitch;
    float *const tile = buf + to;
    float *out = buf + so;
    for (long k = 0; k < tiles; k++, w += pitch) {
        for (long g = 0; g < groups; g++, out += 20) {
            const float *x = xp + xo + g * 128 * blocks;
            /* The next tile's rows, a share of them per group: group g fetches rows 5g/groups .. 5(g+1)/groups - 1. */
            const long pa = 5 * g / groups, pb = 5 * (g + 1) / groups;
            ZERO4(a0) ZERO4(a1) ZERO4(a2) ZERO4(a3) ZERO4(a4)
            if (g == 0) {
                for (long b = 0; b < blocks; b++) {
                    PREFETCH_ROWS
                    LOAD_X
                    float *t = tile + 160 * b;
                    WIDEN_ROW(a0, 0)
                    WIDEN_ROW(a1, 1)
                    WIDEN_ROW(a2, 2)
                    WIDEN_ROW(a3, 3)
                    WIDEN_ROW(a4, 4)
                }
            } else {
                for (long b = 0; b < blocks; b++) {
                    PREFETCH_ROWS
                    LOAD_X
                    const float *t = tile + 160 * b;
                    TILE_ROW(a0, 0)
                    TILE_ROW(a1, 1)
                    TILE_ROW(a2, 2)
                    TILE_ROW(a3, 3)
                    TILE_ROW(a4, 4)
                }
            }
            /* Token t's rows 0-3, then row 4's four tokens (finish5x4's order). */
            LANE_SUMS4(a00, a10, a20, a30, out)
            LANE_SUMS4(a01, a11, a21, a31, out + 4)
            LANE_SUMS4(a02, a12, a22, a32, out + 8)
            LANE_SUMS4(a03, a13, a23, a33, out + 12)
            LANE_SUMS4(a40, a41, a42, a43, out + 16)
        }
    }
}
