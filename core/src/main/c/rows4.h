/*
 * The loop both one-token kernels share (fp8_rows4.c, i8_rows4.c): tiles of four rows of 8-bit codes in the tile
 * layout, times one token's activations, each row's sum over whole 64-column groups. WIDEN(v, k) turns byte k of every
 * 32-bit lane of v into a float vector; the Java kernels (Fp8BlockMatrix.stream4, Int8RowMatrix.stream4) take the same
 * FMAs in the same order and add the lanes in VectorMath.sum's tree, so every row's sum has the same bits either way.
 *
 * Layout: tile k (four rows) starts at codes + 4 * cols * k; for each group of 64 columns c, the four rows' 64-byte
 * vectors follow each other (row j at + 4 * c + 64 * j), and byte b of 32-bit lane l of a row's vector is the code
 * of column c + 16 b + l. Columns past the last whole group (the caller's tail) come after the groups.
 *
 * ROWS4_LOOP(ROW, WIDEN) takes each row's FMAs of a group through the kernel's own ROW (fp8_row.h, i8_rows4.c);
 * ROWS4_TILE(ROW, WIDEN, OUT) is one tile of that loop (fp8_decode.c runs its own loop over tiles).
 *
 * Arguments (System V AMD64): codes, tiles, cols (codes per row: the tile pitch is 4 * cols), full (columns taken, a
 * multiple of 64), buf with the activations at buf + xo (full floats) and room for the output at buf + oo (tiles * 4
 * floats), ahead (bytes to prefetch ahead of the reads: into L1 (PREFETCHT0) when positive, into L2 (PREFETCHT1)
 * -ahead bytes ahead when negative, none when 0). One buffer for both, so the Java
 * side passes one array.
 */
#include "lanes.h"

/* The loop with ROW(A, J, W) taking row J's FMAs of a group into A (q: the group's codes, x0..x3: its activations; k, c:
 * the tile and the group's first column). */
#define ROWS4_LOOP(ROW, WIDEN) \
    const float *x = buf + xo; \
    float *out = buf + oo; \
    for (long k = 0; k < tiles; k++) { \
        ROWS4_TILE(ROW, WIDEN, out + 4 * k) \
    }

/* Tile k's four row sums into OUT[0 .. 3] (activations at x). */
#define ROWS4_TILE(ROW, WIDEN, OUT) { \
        const unsigned char *p = codes + 4 * cols * k; \
        __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(), a3 = _mm512_setzero_ps(); \
        for (long c = 0; c < full; c += 64) { \
            const unsigned char *q = p + 4 * c; \
            PREFETCH_AHEAD(q, ahead) \
            const __m512 x0 = _mm512_loadu_ps(x + c), x1 = _mm512_loadu_ps(x + c + 16); \
            const __m512 x2 = _mm512_loadu_ps(x + c + 32), x3 = _mm512_loadu_ps(x + c + 48); \
            ROW(a0, 0, WIDEN) \
            ROW(a1, 1, WIDEN) \
            ROW(a2, 2, WIDEN) \
            ROW(a3, 3, WIDEN) \
        } \
        /* Each row's 16 lanes added in VectorMath.sum's tree (lanes.h). */ \
        LANE_SUMS4(a0, a1, a2, a3, OUT) }
