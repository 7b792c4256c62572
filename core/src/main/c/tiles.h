/*
 * The five-row by four-token tile loops shared by bf16_tiles.c and f32_tile_groups.c: 20 accumulators (row I, token t
 * in A##t of row macro A), kept in buf between column chunks, and the FMAs of one 32-column block, even columns then odd.
 */
#include "lanes.h"

#define INIT4(R, I) __m512 R##0, R##1, R##2, R##3; \
    if (j == 0) { R##0 = R##1 = R##2 = R##3 = _mm512_setzero_ps(); } else { \
        R##0 = _mm512_loadu_ps(acc + 16 * (I)); R##1 = _mm512_loadu_ps(acc + 16 * ((I) + 5)); \
        R##2 = _mm512_loadu_ps(acc + 16 * ((I) + 10)); R##3 = _mm512_loadu_ps(acc + 16 * ((I) + 15)); }

#define KEEP4(R, I) \
    _mm512_storeu_ps(acc + 16 * (I), R##0); _mm512_storeu_ps(acc + 16 * ((I) + 5), R##1); \
    _mm512_storeu_ps(acc + 16 * ((I) + 10), R##2); _mm512_storeu_ps(acc + 16 * ((I) + 15), R##3);

/* Row A's FMAs for one block: even columns then odd, for each of the four tokens. */
#define ROW_FMAS(A, WE, WO) \
    A##0 = _mm512_fmadd_ps(WO, xd0, _mm512_fmadd_ps(WE, xe0, A##0)); \
    A##1 = _mm512_fmadd_ps(WO, xd1, _mm512_fmadd_ps(WE, xe1, A##1)); \
    A##2 = _mm512_fmadd_ps(WO, xd2, _mm512_fmadd_ps(WE, xe2, A##2)); \
    A##3 = _mm512_fmadd_ps(WO, xd3, _mm512_fmadd_ps(WE, xe3, A##3));

/* Row I's block from the tile. */
#define TILE_ROW(A, I) { \
        const __m512 we = _mm512_loadu_ps(t + 32 * (I)); \
        const __m512 wo = _mm512_loadu_ps(t + 32 * (I) + 16); \
        ROW_FMAS(A, we, wo) }

#define LOAD_X \
    const float *xb = x + 128 * b; \
    const __m512 xe0 = _mm512_loadu_ps(xb), xd0 = _mm512_loadu_ps(xb + 16); \
    const __m512 xe1 = _mm512_loadu_ps(xb + 32), xd1 = _mm512_loadu_ps(xb + 48); \
    const __m512 xe2 = _mm512_loadu_ps(xb + 64), xd2 = _mm512_loadu_ps(xb + 80); \
    const __m512 xe3 = _mm512_loadu_ps(xb + 96), xd3 = _mm512_loadu_ps(xb + 112);

/* Rows 0-4 of the tile's block t, each with its four tokens' FMAs. */
#define TILE_ROWS5 \
    TILE_ROW(a0, 0) \
    TILE_ROW(a1, 1) \
    TILE_ROW(a2, 2) \
    TILE_ROW(a3, 3) \
    TILE_ROW(a4, 4)

/*
 * After a group's last block of a column chunk: the accumulators kept for the next chunk (KEEP), or else, after a row's
 * last chunk, their lane sums at S: token t's rows 0-3 at S + 4t, then row 4's four tokens at S + 16 (finish5x4's order).
 */
#define KEEP_OR_SUM(KEEP, S) \
    if (KEEP) { \
        KEEP4(a0, 0) KEEP4(a1, 1) KEEP4(a2, 2) KEEP4(a3, 3) KEEP4(a4, 4) \
    } else { \
        float *const sums_ = (S); \
        LANE_SUMS4(a00, a10, a20, a30, sums_) \
        LANE_SUMS4(a01, a11, a21, a31, sums_ + 4) \
        LANE_SUMS4(a02, a12, a22, a32, sums_ + 8) \
        LANE_SUMS4(a03, a13, a23, a33, sums_ + 12) \
        LANE_SUMS4(a40, a41, a42, a43, sums_ + 16) \
    }
