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
