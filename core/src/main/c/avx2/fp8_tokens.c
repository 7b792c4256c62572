/*
 * RedHare native kernel for AVX2 CPUs: several tokens through a run of whole FP8 tiles (Fp8BlockMatrix with 8-float
 * vectors: four rows a tile, groups of 32 columns), from the activations as they come to the outputs, as
 * ../fp8_tokens.c does at 512 bits and with the bits of the Java kernels it stands for (Fp8BlockMatrix.run's tile4x4,
 * tile4x2 and tile4x1 at 8 lanes, and so of one token alone, fp8_decode.c): a decode step of several users, a drafted
 * run being checked, or a prompt in blocks of tokens.
 *
 * AVX2 has 16 vector registers, not 32, so a tile's four rows and five tokens (20 accumulators, the AVX-512 kernel's
 * group) do not fit. The tokens go in groups of up to ten (sizes balanced: 6 + 5 for eleven), and a group takes a
 * tile's rows in passes: four rows a pass for up to three tokens, two for four or five, one for more, so that a pass
 * keeps eight to twelve accumulators (FP8_TILE) and each code, widened once a pass, feeds two to ten tokens' FMAs (the
 * Java kernels widen it once per two tokens, or per token for a lone one). A pass takes 512 columns at a time, the
 * tile's sums kept in memory between them, so that the group's activations of those columns stay in L1 for the tile's
 * passes; each group runs over a chunk of tiles (64 KiB of codes) before the next group does, so that the chunk's codes
 * stay in L2 across the groups. Per accumulator the FMAs run in column order, each group's four codes a lane in the
 * order of their columns, and each accumulator's eight lanes are added in VectorMath.sum's tree for 8 lanes, plus the
 * Java kernels' empty tail (0.0f), times the row's factor: the arithmetic of the Java kernels, whatever the grouping, so
 * the same bits whatever the batch.
 *
 * Widening as fp8_decode.c: two 16-bit arithmetic shifts serve a lane's four codes (the earlier codes from a load one
 * byte back; for the call's first group, whose earlier byte may lie outside the codes, a shift by 8), then a shift and
 * an AND with 0x87F00000 per float (the E4M3 value times 2^-120; the activations' factors carry the 2^120).
 *
 * Arguments (those of ../fp8_tokens.c): args = {codes (address of the first tile), tiles, cols (a multiple of 32),
 * ahead (bytes to prefetch ahead: into L1 where positive, into L2 where negative, none at 0), r0 (the first tile's first
 * row), band_rows (rows sharing one set of activation factors; a multiple of 4 unless one band holds every row), nb
 * (scale blocks per row), bw (columns per block: a multiple of 16, or at least cols when nb is 1), n (tokens, at least
 * 1), rows (the outputs' stride: token t's row r at y[t * rows + r])}; x: token t's activations at x[t * cols ..];
 * xscales: band b's factor for block j at xscales[b * nb + j] (xscales[0] for all when nb is 1); factors: row r's factor
 * at factors[r]; scaled: room for n * cols + 15 floats.
 *
 * Built by scripts/native/build-kernels.sh (AVX2, FMA and F16C only) into the bytes org.redhare.core.matrix.Avx2Code
 * carries.
 */
#include "token_passes.h"

/* Row I0 + I of the tile, one group: its 32 codes widened (four floats a lane, in the order of their columns), each fed
 * to every token. */
#define PASS_ROW(I) \
        if (R > (I)) { \
            const unsigned char *const qi = q + 32 * (I0 + (I)); \
            const __m256i v = _mm256_loadu_si256((const __m256i *) qi); \
            const __m256i u = (k | c) != 0 ? _mm256_loadu_si256((const __m256i *) (qi - 1)) : _mm256_slli_epi32(v, 8); \
            const __m256i ht = _mm256_srai_epi16(v, 4), hs = _mm256_srai_epi16(u, 4); \
            __m256 w = _mm256_castsi256_ps(_mm256_and_si256(_mm256_slli_epi32(hs, 16), mask)); /* code 0: c .. c + 7 */ \
            FEED_TOKENS(I, w, 0) \
            w = _mm256_castsi256_ps(_mm256_and_si256(_mm256_slli_epi32(ht, 16), mask)); /* code 1: c + 8 .. */ \
            FEED_TOKENS(I, w, 8) \
            w = _mm256_castsi256_ps(_mm256_and_si256(hs, mask)); /* code 2: c + 16 .. */ \
            FEED_TOKENS(I, w, 16) \
            w = _mm256_castsi256_ps(_mm256_and_si256(ht, mask)); /* code 3: c + 24 .. */ \
            FEED_TOKENS(I, w, 24) }

/* Token T's output of row I0 + I. */
#define OUT(I, T) \
        if (R > (I) && N > (T)) y[(T) * rows + r + I0 + (I)] = (lanes8(a##I##T) + 0.0f) * factors[r + I0 + (I)];

/* Rows I0 .. I0 + R - 1 of the tile at p (k: its index in the call; rows r .. r + 3), columns c0 .. c1 - 1, times the N
 * tokens whose scaled activations are at x (token t's at x + t * cols): the sums start at zero where c0 is 0 and
 * otherwise from acc, go on to acc where c1 is short of the row's end, and otherwise become the outputs at y (token t's
 * row r + i at y[t * rows + r + i]). Inlined once per (R, N), constants, so that the R N accumulators stay in
 * registers; through memory between column chunks their floats do not change. */
static inline __attribute__((always_inline)) void fp8_pass(const long R, const long N, const long I0, const unsigned char *const p,
        const long k, const long c0, const long c1, const long cols, const long ahead, const long r, const long rows,
        const float *const x, const float *const factors, float *const y, const __m256i mask, float *const acc) {
    PASS_BEGIN
    for (long c = c0; c < c1; c += 32) {
        const unsigned char *const q = p + 4 * c;
        if (I0 == 0) {
            PREFETCH_BLOCK(q, 128, ahead)
        }
        PASS_ROW(0)
        PASS_ROW(1)
        PASS_ROW(2)
        PASS_ROW(3)
    }
    PASS_END
}

/* The tile's four rows for the N tokens from T0 (token_passes.h's passes), 512 columns at a time. */
#define FP8_PASS(R, I0) fp8_pass(R, N_, I0, p, k, c0_, c1_, cols, ahead, r, rows, xt_, factors, yt_, mask, acc);
#define FP8_TILE(N, T0) { \
        const long N_ = (N); \
        const float *const xt_ = x + (T0) * cols; \
        float *const yt_ = y + (T0) * rows; \
        for (long c0_ = 0; c0_ < cols; c0_ += CHUNK_COLS) { \
            const long c1_ = c0_ + CHUNK_COLS < cols ? c0_ + CHUNK_COLS : cols; \
            TILE_PASSES(N, FP8_PASS) \
        } }

void fp8_tokens(const long *args, const float *xin, const float *xscales, const float *factors, float *y, float *scaled) {
    const unsigned char *const codes = (const unsigned char *) args[0];
    const long tiles = args[1], cols = args[2], ahead = args[3], r0 = args[4], band_rows = args[5], nb = args[6], bw = args[7];
    const long n = args[8], rows = args[9];
    const __m256i mask = splat32((int) 0x87F00000);
    float acc[4 * 10 * 8]; /* the tile's sums between column chunks: four rows, ten tokens, eight lanes */
    float *const x = (float *) (((unsigned long) scaled + 63) & ~63UL); /* the scaled activations, from a cache line */
    const long chunk = 4 * cols < CHUNK_BYTES ? CHUNK_BYTES / (4 * cols) : 1;
    const long groups = (n + GROUP_MAX - 1) / GROUP_MAX;
    long band = -1;
    for (long k0 = 0; k0 < tiles; ) {
        const long b = (r0 + 4 * k0) / band_rows;
        long k1 = k0 + chunk < tiles ? k0 + chunk : tiles; /* the chunk: tiles k0 .. k1 - 1, all in band b */
        const long bend = ((b + 1) * band_rows - r0 + 3) / 4; /* the first tile past band b */
        if (k1 > bend) {
            k1 = bend;
        }
        if (b != band) { /* lane-wise multiplies, as Fp8BlockMatrix.scaleActivations: the same floats */
            band = b;
            for (long t = 0; t < n; t++) {
                for (long j = 0, c0 = 0; c0 < cols; j++, c0 += bw) {
                    const __m256 f = _mm256_set1_ps(xscales[nb > 1 ? band * nb + j : 0]);
                    const long c1 = nb > 1 && c0 + bw < cols ? c0 + bw : cols;
                    for (long c = c0; c < c1; c += 8) {
                        _mm256_storeu_ps(x + t * cols + c, _mm256_mul_ps(_mm256_loadu_ps(xin + t * cols + c), f));
                    }
                }
            }
        }
        for (long g = 0, t0 = 0; g < groups; g++) { /* sizes balanced: 6 + 5 for eleven */
            const long t1 = n * (g + 1) / groups;
            for (long k = k0; k < k1; k++) {
                const long r = r0 + 4 * k;
                const unsigned char *const p = codes + 4 * cols * k;
                GROUP_SWITCH(t0, t1, FP8_TILE)
            }
            t0 = t1;
        }
        k0 = k1;
    }
}
