/*
 * What the AVX2 several-token float kernels share (fp8_tokens.c, bf16_tokens.c): a tile of four rows times a group of
 * up to ten tokens, in passes of one, two or four rows so that a pass keeps eight to twelve accumulators in AVX2's 16
 * registers, each weight vector widened once a pass and fed to every token of the group by FMAs that read the
 * activations themselves; a pass takes CHUNK_COLS columns at a time, the tile's sums kept in memory between chunks.
 */
#include "avx2.h"

/* The most tokens a group takes: one row's ten accumulators, beside the row's loaded and widened vectors and a mask.
 * Ten chains rather than eight leave the two FMA units some slack: 64 tokens through [4864 x 896] FP8 ran 45-47 G
 * products a second against 41-46 with eight. */
#define GROUP_MAX 10

/* Row I's accumulator for token T, a<I><T>, fed W times the token's activations at column c + OFF (x: token t's at x +
 * t * cols). */
#define FEED(I, T, W, OFF) if (N > (T)) FMA_FROM(a##I##T, W, x + (T) * cols + c + (OFF));
#define FEED_TOKENS(I, W, OFF) \
        FEED(I, 0, W, OFF) FEED(I, 1, W, OFF) FEED(I, 2, W, OFF) FEED(I, 3, W, OFF) \
        FEED(I, 4, W, OFF) FEED(I, 5, W, OFF) FEED(I, 6, W, OFF) FEED(I, 7, W, OFF) FEED(I, 8, W, OFF) FEED(I, 9, W, OFF)

/* The 40 accumulators a pass may name (rows 0..3 of the tile, tokens 0..9), zero; the compiler keeps the R N a pass
 * uses. */
#define PASS_ACCUMULATORS \
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a04 = a00, a05 = a00, a06 = a00, a07 = a00, a08 = a00, a09 = a00; \
    __m256 a10 = a00, a11 = a00, a12 = a00, a13 = a00, a14 = a00, a15 = a00, a16 = a00, a17 = a00, a18 = a00, a19 = a00; \
    __m256 a20 = a00, a21 = a00, a22 = a00, a23 = a00, a24 = a00, a25 = a00, a26 = a00, a27 = a00, a28 = a00, a29 = a00; \
    __m256 a30 = a00, a31 = a00, a32 = a00, a33 = a00, a34 = a00, a35 = a00, a36 = a00, a37 = a00, a38 = a00, a39 = a00;

/* Accumulator a<I><T> from / to the tile's sums in memory (acc: row i's for token t at acc + 8 (10 i + t)). */
#define LOAD_ACC(I, T) if (R > (I) && N > (T)) a##I##T = _mm256_loadu_ps(acc + 8 * (10 * (I0 + (I)) + (T)));
#define STORE_ACC(I, T) if (R > (I) && N > (T)) _mm256_storeu_ps(acc + 8 * (10 * (I0 + (I)) + (T)), a##I##T);
#define ACC_ROWS(M) \
    M(0, 0) M(0, 1) M(0, 2) M(0, 3) M(0, 4) M(0, 5) M(0, 6) M(0, 7) M(0, 8) M(0, 9) \
    M(1, 0) M(1, 1) M(1, 2) M(1, 3) M(1, 4) M(1, 5) M(1, 6) M(1, 7) M(1, 8) M(1, 9) \
    M(2, 0) M(2, 1) M(2, 2) M(2, 3) M(2, 4) M(2, 5) M(2, 6) M(2, 7) M(2, 8) M(2, 9) \
    M(3, 0) M(3, 1) M(3, 2) M(3, 3) M(3, 4) M(3, 5) M(3, 6) M(3, 7) M(3, 8) M(3, 9)

/* Each token T's output of row I (OUT(I, T) where the pass has that row and token). */
#define OUT_TOKENS(I) OUT(I, 0) OUT(I, 1) OUT(I, 2) OUT(I, 3) OUT(I, 4) OUT(I, 5) OUT(I, 6) OUT(I, 7) OUT(I, 8) OUT(I, 9)

/* Columns a pass takes before the next pass (the tile's other rows) reads the same activations: a group's activations
 * of a chunk (20 KiB for ten tokens) stay in L1 for the tile's passes; whole rows of 4864 columns did not (eight
 * tokens' 152 KiB read from L2 by every pass: [896 x 4864] FP8 ran at 33 G products a second against 46 for 896
 * columns). */
#ifndef CHUNK_COLS
#define CHUNK_COLS 512
#endif

/* Weight bytes a chunk of tiles holds at most (at least one tile): each token group runs over a chunk's tiles before
 * the next group does, so that a group's activations stay in L1 across the chunk and the chunk's weights in L2 across
 * the groups (the other order read every group's activations again for each tile: 16 tokens ran slower than 8). */
#define CHUNK_BYTES 65536

/* A tile's four rows for N tokens, columns c0 .. c1 - 1, as PASS(R, I0) (rows I0 .. I0 + R - 1) in turn: R N
 * accumulators, eight or more where N allows, since each one's FMAs wait on each other (four cycles apart on Zen 5) and
 * it takes eight chains to keep two FMA units busy. Twelve accumulators fit for three tokens (four rows), not for six
 * (two rows: spilled to the stack), so six to ten tokens take one row a pass. */
#define TILE_PASSES(N, PASS) { \
        if ((N) <= 3) { \
            PASS(4, 0) \
        } else if ((N) <= 5) { \
            PASS(2, 0) \
            PASS(2, 2) \
        } else { \
            PASS(1, 0) \
            PASS(1, 1) \
            PASS(1, 2) \
            PASS(1, 3) \
        } }

/* TILE(N, T0) for the group of tokens T0 .. T1 - 1 with N = T1 - T0 (at most GROUP_MAX) a constant in each case. */
#define GROUP_SWITCH(T0, T1, TILE) \
        switch ((T1) - (T0)) { \
        case 1: TILE(1, T0); break; \
        case 2: TILE(2, T0); break; \
        case 3: TILE(3, T0); break; \
        case 4: TILE(4, T0); break; \
        case 5: TILE(5, T0); break; \
        case 6: TILE(6, T0); break; \
        case 7: TILE(7, T0); break; \
        case 8: TILE(8, T0); break; \
        case 9: TILE(9, T0); break; \
        default: TILE(10, T0); break; \
        }

/* A pass's start: its accumulators zero, or the sums of the columns before c0 from acc. */
#define PASS_BEGIN \
    PASS_ACCUMULATORS \
    if (c0 > 0) { \
        ACC_ROWS(LOAD_ACC) \
    }

/* A pass's end: its sums to acc where c1 is short of the row's end, otherwise the outputs (the kernel's OUT). */
#define PASS_END \
    if (c1 < cols) { \
        ACC_ROWS(STORE_ACC) \
    } else { \
        OUT_TOKENS(0) \
        OUT_TOKENS(1) \
        OUT_TOKENS(2) \
        OUT_TOKENS(3) \
    }

/* The 16-bit kernels' columns c0 .. c1 - 1 of a pass (bf16_tokens.c, f16_tokens.c; rows of 2-byte weights, row j at p + j
 * pitch, blocks of 16 columns): two blocks (a cache line of each row) a turn, the first pass prefetching each row's
 * line ahead bytes ahead into L2, then a last block alone; the kernel's PASS_ROW(I, D) takes row I's block at c + D.
 * A prefetch test each block (the first version) ran [128x896] BF16 4 tokens at 28.9 G products a second against 40.2
 * with none; a turn of two blocks 35.5-37.7 with the prefetch. */
#define PASS_COLUMNS16 \
    long c = c0; \
    for (; c + 32 <= c1; c += 32) { \
        if (I0 == 0) { \
            _mm_prefetch((const char *) (p + 2 * c + ahead), _MM_HINT_T1); \
            _mm_prefetch((const char *) (p + pitch + 2 * c + ahead), _MM_HINT_T1); \
            _mm_prefetch((const char *) (p + 2 * pitch + 2 * c + ahead), _MM_HINT_T1); \
            _mm_prefetch((const char *) (p + 3 * pitch + 2 * c + ahead), _MM_HINT_T1); \
        } \
        PASS_ROW(0, 0) \
        PASS_ROW(1, 0) \
        PASS_ROW(2, 0) \
        PASS_ROW(3, 0) \
        PASS_ROW(0, 16) \
        PASS_ROW(1, 16) \
        PASS_ROW(2, 16) \
        PASS_ROW(3, 16) \
    } \
    if (c < c1) { \
        PASS_ROW(0, 0) \
        PASS_ROW(1, 0) \
        PASS_ROW(2, 0) \
        PASS_ROW(3, 0) \
    }

/* The 16-bit kernels' body (bf16_tokens.c, f16_tokens.c) over the n tokens' activations at xin (token t's at xin + t
 * cols) and quads groups of four rows: the activations copied to a 64-byte boundary of scratch (so that no 32-byte
 * load of them crosses a cache line), then chunks of quads (CHUNK_BYTES of weights), each token group (sizes balanced:
 * 6 + 5 for eleven) over a chunk's quads before the next group does, QUAD(N, T0) taking quad k for the tokens T0 ..
 * T0 + N - 1 (acc: its sums between column chunks, four rows, ten tokens, eight lanes). */
#define QUADS16(QUAD) \
    float acc[4 * 10 * 8]; \
    float *const x = (float *) (((unsigned long) scratch + 63) & ~63UL); \
    for (long i = 0; i < n * cols; i += 8) { \
        _mm256_store_ps(x + i, _mm256_loadu_ps(xin + i)); \
    } \
    const long chunk = 8 * cols < CHUNK_BYTES ? CHUNK_BYTES / (8 * cols) : 1; \
    const long groups = (n + GROUP_MAX - 1) / GROUP_MAX; \
    for (long k0 = 0; k0 < quads; k0 += chunk) { \
        const long k1 = k0 + chunk < quads ? k0 + chunk : quads; \
        for (long g = 0, t0 = 0; g < groups; g++) { \
            const long t1 = n * (g + 1) / groups; \
            for (long k = k0; k < k1; k++) { \
                GROUP_SWITCH(t0, t1, QUAD) \
            } \
            t0 = t1; \
        } \
    }
