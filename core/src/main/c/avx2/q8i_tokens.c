/*
 * RedHare native kernel for AVX2 CPUs: Q8_0 weights (Q8_0IntMatrix: W = d q, an int8 value q and an f16 d per 32
 * columns) times a few tokens' activations quantized to int8 per 32-column block, in integers, as form 1 of
 * ../vnni_tokens.h computes them on AVX512-VNNI and with the same bits: per block and row the exact T = sum(q xq) (at
 * most 32 * 128 * 127 in size), and each row's float accumulator takes fma(float(T), d dx, acc) over the blocks in
 * column order from zero.
 *
 * The layout keeps each value plus 128, an unsigned byte, for VPDPBUSD; VPMADDUBSW would saturate on those (two
 * products of up to 255 * 127), so here each value comes back signed (an XOR with 0x80) and multiplies as llama.cpp's
 * AVX2 kernels do: its magnitude (VPABSB, at most 128, unsigned) times the activation with the value's sign
 * (VPSIGNB), pairs into 16 bits (at most 2 * 128 * 127 = 32512, no saturation), then pairs into 32 bits (VPMADDWD by
 * ones).
 *
 * Layout: Q8_0IntMatrix's (tiles of 32 rows; see ../vnni_tokens.h, form 1): tile t's block b at packed + 1088 (t nb +
 * b), step s (columns 4 s .. 4 s + 3) at 128 s, a row's four values (plus 128) in its 32-bit lane, rows 0..7, 8..15,
 * 16..23, 24..31 in its four 32-byte quarters; then the rows' f16 scales at 1024.
 *
 * Arguments as ../vnni_tokens.h's: args = {packed (address), nb, quads, tiles, rows, p0, p1 (the quads to take), t0,
 * t1 (the tokens), n, ahead (bytes to prefetch ahead in each tile's stream: into L2 where negative, L1 where positive),
 * unused}; a quad p is tiles p, p + quads, p + 2 quads, p + 3 quads (past the last tile: p again, not computed twice
 * here), taken as four runs of tiles in memory order (the quads' first tiles, then their second ones, ...). xp: token t's activations at xp + (t - t0) 18 nb shorts: its 32 nb bytes in column order, then each 16-column
 * unit's sum(xq) (unread); xf: token t's block scales dx at xf[t nb + b]; y: token t's output for row r at y[t rows +
 * r]. A tile at a time over all its blocks, a token at a time.
 *
 * Built by scripts/native/build-kernels.sh (AVX2, FMA and F16C only) into the bytes org.redhare.core.matrix.Avx2Code
 * carries.
 */
#include "avx2.h"

/* Quarter R (rows 8 R .. 8 R + 7) of step S: the values' products with the step's four activations (xv) summed into
 * the quarter's 32-bit lanes. With AVX-VNNI straight from the stored values plus 128 (VPDPBUSD does not saturate), the
 * sums starting at -128 sum(xq) as on AVX512-VNNI; otherwise back to signed bytes, magnitude by signed activation. */
#ifdef __AVXVNNI__
#define QUARTER(R, S) DOTS1(a##R, _mm256_loadu_si256((const __m256i *) (q + 128 * (S) + 32 * (R))), xv);
#define START(B) _mm256_set1_epi32(-128 * ((int) xs[2 * (B)] + (int) xs[2 * (B) + 1]))
#else
#define QUARTER(R, S) { \
        const __m256i v = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *) (q + 128 * (S) + 32 * (R))), flip); \
        DOTS1(a##R, _mm256_abs_epi8(v), _mm256_sign_epi8(xv, v)); }
#define START(B) _mm256_setzero_si256()
#endif

/* Rows 8 R .. 8 R + 7 of the block folded into their float accumulators: fma(float(T), d dx, acc). */
#define FOLD8(R) f##R = _mm256_fmadd_ps(_mm256_cvtepi32_ps(a##R), \
        _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (q + 1024 + 16 * (R)))), dx), f##R);

/* Block b of the tile (at q) for token t, into f0 .. f3 (avx2.h's TILE_RUNS). */
#define BLOCK_SUMS \
        __m256i a0 = START(b), a1 = a0, a2 = a0, a3 = a0; \
        _Pragma("GCC unroll 8") \
        for (long s = 0; s < 8; s++) { \
            const __m256i xv = _mm256_set1_epi32(xi[8 * b + s]); \
            QUARTER(0, s) \
            QUARTER(1, s) \
            QUARTER(2, s) \
            QUARTER(3, s) \
        } \
        const __m256 dx = _mm256_set1_ps(dxt[b]); \
        FOLD8(0) \
        FOLD8(1) \
        FOLD8(2) \
        FOLD8(3)

void q8i_tokens(const long *args, const short *xp, const float *xf, const float *d, float *y) {
    KERNEL_ARGS
    const __m256i flip = splat32((int) 0x80808080), ones = splat32(0x00010001);
    (void) flip;
    (void) ones;
    TILE_RUNS(1088, BLOCK_SUMS)
}
