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
 * Rows are taken in column chunks (a widened chunk of five rows stays in L1 while the groups pass over it; long rows
 * are also stored in column panels, see Bf16Matrix.PANEL), each (row, token) accumulator stored after a chunk and
 * loaded again for the next: exactly, so the order of the FMAs is the unchunked one.
 *
 * Arguments: args (the numbers below, one array, so that everything but the float arrays is in it: w, first, tiles,
 * q, nchunks, groups, xo, full, to, ao, so, step, yo, yrows, ytokens, 0, then the chunks), xp, buf, y.
 *
 * With ytokens > 0 each (row, token) sum also goes straight to its output, y[yo + t yrows + row] for the first ytokens
 * tokens (the caller's rows have no tail columns, so the sum is the output): the Java loop that copied the sums there
 * cost 9% of a 16-token product (`ManyMatrixRates bf16 4864x896 60 16 2` with the copy skipped, fifty-second session).
 *
 * Layouts (floats unless said):
 * - Chunks: chunk j is args[16 + 4j .. 16 + 4j + 3] = {offset, pitch, blocks, c0}: row R's columns c0 .. c0 + 32 blocks start at
 *   byte w + offset + R * pitch; a 32-column block is 64 bytes: 16 32-bit lanes, each an even column (low half) and
 *   the odd one after it. Tile k's row i (i = 0..4) is row first + k step + i q of the matrix: step 1 and q the
 *   number of tiles for a few tokens (Bf16Matrix's split tiles), step 5 and q 1 for a prompt (five neighbouring rows).
 * - Activations: group g (tokens 4g .. 4g + 3), column block c / 32 at xp + xo + g * 4 * full + 4 c, token t's even
 *   columns at + 32 t and odd ones at + 32 t + 16 (Kernels.packTokens4, chunk 32).
 * - The widened chunk (the first group writes it, the others read it; unused with eight groups or fewer, see
 *   rewiden) at buf + to: block b, row i at + 160 b + 32 i, even then odd, 160 * blocks floats.
 * - Accumulators between chunks at buf + ao: group g's 20 at + 320 g.
 * - Sums: tile k, group g at buf + so + 20 (k * groups + g): row i (0..3) of token t at + 4 t + i, row 4 at + 16 + t.
 *
 * Prefetching: while a chunk of a tile runs, the rows of what runs next (the tile's next chunk, or the next tile's
 * first) are fetched, their lines spread evenly over the iterations of all the groups.
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.NativeCode carries.
 */
#include "tiles.h"

/* Widens row I's block from memory, stores it into the tile, and takes its FMAs. */
#define WIDEN_ROW(A, I) { \
        const __m512i v = _mm512_loadu_si512((const void *) (row + (I) * stride + 64 * b)); \
        const __m512 we = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)); \
        const __m512 wo = _mm512_castsi512_ps(_mm512_and_si512(v, high)); \
        _mm512_storeu_ps(t + 32 * (I), we); \
        _mm512_storeu_ps(t + 32 * (I) + 16, wo); \
        ROW_FMAS(A, we, wo) }

/* Row I's block widened from the rows, without storing it (every group of a few-token pass: see rewiden). */
#define REWIDEN_ROW(A, I) { \
        const __m512i v = _mm512_loadu_si512((const void *) (row + (I) * stride + 64 * b)); \
        const __m512 we = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16)); \
        const __m512 wo = _mm512_castsi512_ps(_mm512_and_si512(v, high)); \
        ROW_FMAS(A, we, wo) }

/* The prefetch lines due at this iteration: lines of the next rows in order (row by row), lines / iterations a turn. */
#define PREFETCH_DUE \
    for (due += lines; due >= turns; due -= turns) { \
        _mm_prefetch((const char *) (next + nrow * nstride + 64 * nline), _MM_HINT_T0); \
        if (++nline == nblocks) { nline = 0; nrow++; } \
    }

void bf16_tiles(const long *args, const float *xp, float *buf, float *y) {
    const unsigned char *const w = (const unsigned char *) args[0];
    const long first = args[1], tiles = args[2], q = args[3], nchunks = args[4], groups = args[5];
    const long xo = args[6], full = args[7], to = args[8], ao = args[9], so = args[10], step = args[11];
    const long yo = args[12], yrows = args[13], ytokens = args[14];
    const long *const chunks = args + 16;
    const __m512i high = _mm512_set1_epi32((int) 0xFFFF0000);
    float *const tile = buf + to;
    /*
     * Up to eight groups (a decode step of up to 32 users) every group widens the rows again, from L1 once the first
     * group has read them, and no tile is stored: five more integer operations per 40 FMAs, but five loads fewer and
     * no stores, and the L1 holds the rows' 64 bytes a block instead of the tile's 640. `ManyMatrixRates bf16 SHAPE 60
     * 16 T` (fifty-first session, alternated): 4864x896 one thread 44.1-45.1 -> 47.9, 896x4864 42.9-44.4 -> 50.4-50.9;
     * two threads 86.2 / 87.2 -> 86.0 / 92.3 and 68.0 / 85.8 -> 91.2 / 92.2. A prompt's block of 128 groups loses by
     * it (`QuickMatrixRates bf16 4864x896 512 1` 49.0-49.2 -> 47.2-47.6): there the tile is stored once and read often.
     */
    const int rewiden = groups <= 8;
    float *out = buf + so;
    for (long k = 0; k < tiles; k++) {
        for (long j = 0; j < nchunks; j++) {
            const long *c = chunks + 4 * j;
            const long pitch = c[1], blocks = c[2], stride = q * pitch;
            const unsigned char *row = w + c[0] + (first + k * step) * pitch;
            /* What runs next: this tile's next chunk, or the next tile's first. */
            const long *n = j + 1 < nchunks ? c + 4 : chunks;
            const unsigned char *next = w + n[0] + (first + k * step + (j + 1 < nchunks ? 0 : step)) * n[1];
            const long nstride = q * n[1], nblocks = n[2], lines = 5 * nblocks, turns = groups * blocks;
            long due = 0, nrow = 0, nline = 0;
            for (long g = 0; g < groups; g++) {
                const float *x = xp + xo + g * 4 * full + 4 * c[3];
                float *const acc = buf + ao + 320 * g;
                INIT4(a0, 0) INIT4(a1, 1) INIT4(a2, 2) INIT4(a3, 3) INIT4(a4, 4)
                if (rewiden) {
                    for (long b = 0; b < blocks; b++) {
                        PREFETCH_DUE
                        LOAD_X
                        REWIDEN_ROW(a0, 0)
                        REWIDEN_ROW(a1, 1)
                        REWIDEN_ROW(a2, 2)
                        REWIDEN_ROW(a3, 3)
                        REWIDEN_ROW(a4, 4)
                    }
                } else if (g == 0) {
                    for (long b = 0; b < blocks; b++) {
                        PREFETCH_DUE
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
                        PREFETCH_DUE
                        LOAD_X
                        const float *t = tile + 160 * b;
                        TILE_ROWS5
                    }
                }
                KEEP_OR_SUM(j + 1 < nchunks, out + 20 * (k * groups + g))
                if (j + 1 == nchunks && ytokens > 0) {
                    const float *const sums = out + 20 * (k * groups + g);
                    for (long t = 0; t < 4 && 4 * g + t < ytokens; t++) {
                        float *const yt = y + yo + (4 * g + t) * yrows + first + k * step;
                        yt[0] = sums[4 * t];
                        yt[q] = sums[4 * t + 1];
                        yt[2 * q] = sums[4 * t + 2];
                        yt[3 * q] = sums[4 * t + 3];
                        yt[4 * q] = sums[16 + t];
                    }
                }
            }
        }
    }
}
