/*
 * RedHare native kernel for AVX2 CPUs: Q6_K weights (Q6_KMatrix: W = d sc (u - 32), a 6-bit value u, an int8 scale sc
 * per 16 columns, a float d per 256-column super-block of each row) times a few tokens' activations quantized to int8
 * per 32-column block, in integers, as form 0 of ../vnni_tokens.h computes them on AVX512-VNNI and with the same bits:
 * per 16-column unit j and row T = sum((u - 32) xq) (the sum starting at -32 sum(xq)), per 32-column block b the two
 * units' sc T added as integers (exact, below 2^24 in size), and each row's float accumulator takes fma(float(sum),
 * d dx, acc) over the blocks in column order from zero.
 *
 * Without VNNI's VPDPBUSD, four columns' products go into a row's 32-bit lane through VPMADDUBSW (unsigned values times
 * signed activations, pairs added into 16 bits: at most 2 * 63 * 127, no saturation) and VPMADDWD by ones (pairs added
 * into 32 bits), as llama.cpp's AVX2 kernels multiply; each value is put together from its low nibble and high bit pair
 * with shifts, ANDs and an OR (AVX2 has no three-input logic operation).
 *
 * Layout: Q6_KMatrix's (tiles of 32 rows, 832 bytes a tile's block; see ../vnni_tokens.h, form 0): group g = 2 j + s / 2
 * of unit j at 192 g (low nibbles L0, L1 of 64 bytes, then high bit pairs H), a 64-byte vector 16 rows of four columns a
 * 32-bit lane, here read as two 32-byte halves of 8 rows; then the rows' scales of unit 0 at 768 and of unit 1 at 800.
 * d: row 32 t + i's super-block k at d[(t nsb + k) 32 + i], nsb = nb / 8.
 *
 * Arguments as ../vnni_tokens.h's: args = {packed (address), nb (a multiple of 8), quads, tiles, rows, p0, p1 (the quads
 * to take), t0, t1 (the tokens), n, form (0), unused}; a quad p is tiles p, p + quads, p + 2 quads, p + 3 quads (past the
 * last tile: p again, not computed twice here), taken as four runs of tiles in memory order (the quads' first tiles,
 * then their second ones, ...). xp: token t's activations at xp + (t - t0) 18 nb shorts: its 32 nb bytes
 * in column order, then each 16-column unit's sum(xq); xf: token t's block scales dx at xf[t nb + b]; y: token t's
 * output for row r at y[t rows + r]. A tile at a time over all its blocks (its 32 rows' sums in four registers), a token
 * at a time.
 *
 * Built by scripts/native/build-kernels.sh (AVX2 and FMA only) into the bytes org.redhare.core.matrix.Avx2Code carries.
 */
#include "avx2.h"

/* Eight rows' products of two steps of four columns, values V (unsigned bytes) by activations X (signed) and W by Y,
 * added to A's 32-bit lanes (avx2.h's DOTS2: without AVX-VNNI the two steps' 16-bit sums are added first, at most
 * 4 * 63 * 127 = 32004 in size, no overflow). */
#define DOT16(A, V, X, W, Y) DOTS2(A, V, X, W, Y);

/* Group G of the block at q, its 32-byte half K (rows 8 K .. 8 K + 7 of each 16-row half): the even step's values
 * (activations xv0) of half 0 into a[K] and of half 1 into a[2 + K], then the odd step's (xv1). */
#define GROUP_HALF(G, K) { \
        const __m256i l0 = _mm256_loadu_si256((const __m256i *) (q + 192 * (G) + 32 * (K))); \
        const __m256i l1 = _mm256_loadu_si256((const __m256i *) (q + 192 * (G) + 64 + 32 * (K))); \
        const __m256i h = _mm256_loadu_si256((const __m256i *) (q + 192 * (G) + 128 + 32 * (K))); \
        DOT16(a##K, _mm256_or_si256(_mm256_and_si256(l0, lo), _mm256_and_si256(_mm256_slli_epi16(h, 4), m30)), xv0, \
                _mm256_or_si256(_mm256_and_si256(l1, lo), _mm256_and_si256(h, m30)), xv1); \
        DOT16(a2##K, _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), lo), _mm256_and_si256(_mm256_slli_epi16(h, 2), m30)), xv0, \
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), lo), _mm256_and_si256(_mm256_srli_epi16(h, 2), m30)), xv1); }

/* Rows 8 R .. 8 R + 7: unit J's sums times their int8 scales, into the block's sums. */
#define SCALE8(R, A, J) \
        i##R = _mm256_add_epi32(i##R, _mm256_mullo_epi32(A, _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *) (q + 768 + 32 * (J) + 8 * (R))))));

/* Rows 8 R .. 8 R + 7 of the block folded into their float accumulators: fma(float(sum), d dx, acc). */
#define FOLD8(R) f##R = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i##R), _mm256_mul_ps(_mm256_loadu_ps(ds + 8 * (R)), dx), f##R);

/* Block b of the tile (at q) for token t, into f0 .. f3 (avx2.h's TILE_RUNS). */
#define BLOCK_SUMS \
        __m256i i0 = _mm256_setzero_si256(), i1 = i0, i2 = i0, i3 = i0; \
        for (long j = 0; j < 2; j++) { \
            const __m256i cen = _mm256_set1_epi32(-32 * (int) xs[2 * b + j]); \
            __m256i a0 = cen, a1 = cen, a20 = cen, a21 = cen; /* rows 0..7, 8..15, 16..23, 24..31 */ \
            { \
                const __m256i xv0 = _mm256_set1_epi32(xi[8 * b + 4 * j]), xv1 = _mm256_set1_epi32(xi[8 * b + 4 * j + 1]); \
                GROUP_HALF(2 * j, 0) \
                GROUP_HALF(2 * j, 1) \
            } \
            { \
                const __m256i xv0 = _mm256_set1_epi32(xi[8 * b + 4 * j + 2]), xv1 = _mm256_set1_epi32(xi[8 * b + 4 * j + 3]); \
                GROUP_HALF(2 * j + 1, 0) \
                GROUP_HALF(2 * j + 1, 1) \
            } \
            SCALE8(0, a0, j) \
            SCALE8(1, a1, j) \
            SCALE8(2, a20, j) \
            SCALE8(3, a21, j) \
        } \
        const float *const ds = d + 32 * (tile * nsb + (b >> 3)); \
        const __m256 dx = _mm256_set1_ps(dxt[b]); \
        FOLD8(0) \
        FOLD8(1) \
        FOLD8(2) \
        FOLD8(3)

void q6k_tokens(const long *args, const short *xp, const float *xf, const float *d, float *y) {
    KERNEL_ARGS
    const __m256i lo = splat32(0x0F0F0F0F), m30 = splat32(0x30303030), ones = splat32(0x00010001);
    (void) ones;
    TILE_RUNS(832, BLOCK_SUMS)
}
