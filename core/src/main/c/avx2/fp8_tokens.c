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
#include "avx2.h"

/* The most tokens a group takes: one row's ten accumulators, beside the mask, the row's two shifted code vectors and
 * the float being fed (FP8_TILE says how many rows a pass takes for fewer tokens). Ten chains rather than eight leave
 * the two FMA units some slack: 64 tokens through [4864 x 896] ran 45-47 G products a second against 41-46 with eight. */
#define GROUP_MAX 10

/* A += W x (the 8 floats at P), one rounding, the activations read by the FMA itself: written out, the compiler would
 * load each activation vector once for the pass's rows and keep it in a register, and with eight or more accumulators
 * the 16 registers overflow onto the stack. */
#define FMA_FROM(A, W, P) __asm__("vfmadd231ps %2, %1, %0" : "+x"(A) : "x"(W), "m"(*(const __m256 *) (P)))

/* Row I's accumulator for token T, a<I><T>, fed W times the token's activations at column c + OFF. */
#define FEED(I, T, W, OFF) if (N > (T)) FMA_FROM(a##I##T, W, x + (T) * cols + c + (OFF));
#define FEED_TOKENS(I, W, OFF) \
        FEED(I, 0, W, OFF) FEED(I, 1, W, OFF) FEED(I, 2, W, OFF) FEED(I, 3, W, OFF) \
        FEED(I, 4, W, OFF) FEED(I, 5, W, OFF) FEED(I, 6, W, OFF) FEED(I, 7, W, OFF) FEED(I, 8, W, OFF) FEED(I, 9, W, OFF)

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
#define OUT_TOKENS(I) OUT(I, 0) OUT(I, 1) OUT(I, 2) OUT(I, 3) OUT(I, 4) OUT(I, 5) OUT(I, 6) OUT(I, 7) OUT(I, 8) OUT(I, 9)

/* Accumulator a<I><T> from / to the tile's sums in memory (acc: row i's for token t at acc + 8 (10 i + t)). */
#define LOAD_ACC(I, T) if (R > (I) && N > (T)) a##I##T = _mm256_loadu_ps(acc + 8 * (10 * (I0 + (I)) + (T)));
#define STORE_ACC(I, T) if (R > (I) && N > (T)) _mm256_storeu_ps(acc + 8 * (10 * (I0 + (I)) + (T)), a##I##T);
#define ACC_ROWS(M) \
    M(0, 0) M(0, 1) M(0, 2) M(0, 3) M(0, 4) M(0, 5) M(0, 6) M(0, 7) M(0, 8) M(0, 9) \
    M(1, 0) M(1, 1) M(1, 2) M(1, 3) M(1, 4) M(1, 5) M(1, 6) M(1, 7) M(1, 8) M(1, 9) \
    M(2, 0) M(2, 1) M(2, 2) M(2, 3) M(2, 4) M(2, 5) M(2, 6) M(2, 7) M(2, 8) M(2, 9) \
    M(3, 0) M(3, 1) M(3, 2) M(3, 3) M(3, 4) M(3, 5) M(3, 6) M(3, 7) M(3, 8) M(3, 9)

/* Rows I0 .. I0 + R - 1 of the tile at p (k: its index in the call; rows r .. r + 3), columns c0 .. c1 - 1, times the N
 * tokens whose scaled activations are at x (token t's at x + t * cols): the sums start at zero where c0 is 0 and
 * otherwise from acc, go on to acc where c1 is short of the row's end, and otherwise become the outputs at y (token t's
 * row r + i at y[t * rows + r + i]). Inlined once per (R, N), constants, so that the R N accumulators stay in
 * registers; through memory between column chunks their floats do not change. */
static inline __attribute__((always_inline)) void fp8_pass(const long R, const long N, const long I0, const unsigned char *const p,
        const long k, const long c0, const long c1, const long cols, const long ahead, const long r, const long rows,
        const float *const x, const float *const factors, float *const y, const __m256i mask, float *const acc) {
    __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a04 = a00, a05 = a00, a06 = a00, a07 = a00, a08 = a00, a09 = a00;
    __m256 a10 = a00, a11 = a00, a12 = a00, a13 = a00, a14 = a00, a15 = a00, a16 = a00, a17 = a00, a18 = a00, a19 = a00;
    __m256 a20 = a00, a21 = a00, a22 = a00, a23 = a00, a24 = a00, a25 = a00, a26 = a00, a27 = a00, a28 = a00, a29 = a00;
    __m256 a30 = a00, a31 = a00, a32 = a00, a33 = a00, a34 = a00, a35 = a00, a36 = a00, a37 = a00, a38 = a00, a39 = a00;
    if (c0 > 0) {
        ACC_ROWS(LOAD_ACC)
    }
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
    if (c1 < cols) {
        ACC_ROWS(STORE_ACC)
    } else {
        OUT_TOKENS(0)
        OUT_TOKENS(1)
        OUT_TOKENS(2)
        OUT_TOKENS(3)
    }
}

/* The tile's four rows for the N tokens from T0, in passes of R rows: R N accumulators, eight or more where N allows,
 * since each one's FMAs wait on each other (four cycles apart on Zen 5) and it takes eight chains to keep two FMA units
 * busy. Twelve accumulators fit for three tokens (four rows), not for six (two rows: spilled to the stack), so six to
 * ten tokens take one row a pass. */
#define FP8_TILE(N, T0) { \
        const float *const xt_ = x + (T0) * cols; \
        float *const yt_ = y + (T0) * rows; \
        for (long c0_ = 0; c0_ < cols; c0_ += CHUNK_COLS) { \
            const long c1_ = c0_ + CHUNK_COLS < cols ? c0_ + CHUNK_COLS : cols; \
            if ((N) <= 3) { \
                fp8_pass(4, N, 0, p, k, c0_, c1_, cols, ahead, r, rows, xt_, factors, yt_, mask, acc); \
            } else if ((N) <= 5) { \
                fp8_pass(2, N, 0, p, k, c0_, c1_, cols, ahead, r, rows, xt_, factors, yt_, mask, acc); \
                fp8_pass(2, N, 2, p, k, c0_, c1_, cols, ahead, r, rows, xt_, factors, yt_, mask, acc); \
            } else { \
                fp8_pass(1, N, 0, p, k, c0_, c1_, cols, ahead, r, rows, xt_, factors, yt_, mask, acc); \
                fp8_pass(1, N, 1, p, k, c0_, c1_, cols, ahead, r, rows, xt_, factors, yt_, mask, acc); \
                fp8_pass(1, N, 2, p, k, c0_, c1_, cols, ahead, r, rows, xt_, factors, yt_, mask, acc); \
                fp8_pass(1, N, 3, p, k, c0_, c1_, cols, ahead, r, rows, xt_, factors, yt_, mask, acc); \
            } \
        } }

/* Columns a pass takes before the next pass (the tile's other rows) reads the same activations: a group's activations
 * of a chunk (20 KiB for ten tokens) stay in L1 for the tile's passes; whole rows of 4864 columns did not (eight
 * tokens' 152 KiB read from L2 by every pass: [896 x 4864] ran at 33 G products a second against 46 for 896 columns). */
#ifndef CHUNK_COLS
#define CHUNK_COLS 512
#endif

/* Codes a chunk of tiles holds at most (at least one tile): each token group runs over a chunk's tiles before the next
 * group does, so that a group's activations stay in L1 across the chunk and the chunk's codes in L2 across the groups
 * (the other order read every group's activations again for each tile: 16 tokens ran slower than 8). */
#define CHUNK_BYTES 65536

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
                switch (t1 - t0) {
                case 1: FP8_TILE(1, t0); break;
                case 2: FP8_TILE(2, t0); break;
                case 3: FP8_TILE(3, t0); break;
                case 4: FP8_TILE(4, t0); break;
                case 5: FP8_TILE(5, t0); break;
                case 6: FP8_TILE(6, t0); break;
                case 7: FP8_TILE(7, t0); break;
                case 8: FP8_TILE(8, t0); break;
            case 9: FP8_TILE(9, t0); break;
            default: FP8_TILE(10, t0); break;
                }
            }
            t0 = t1;
        }
        k0 = k1;
    }
}
