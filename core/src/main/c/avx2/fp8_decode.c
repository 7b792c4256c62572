/*
 * RedHare native kernel for AVX2 CPUs: one token through a run of whole FP8 tiles (Fp8BlockMatrix with 8-float
 * vectors: four rows a tile, groups of 32 columns), from the activations as they come to the outputs, as
 * ../fp8_decode.c does at 512 bits and with the bits of the Java kernel it stands for (Fp8BlockMatrix.tiles2x1 and
 * stream4): each scale band's activation factors applied (lane-wise multiplies, as Fp8BlockMatrix.scaleActivations),
 * each row's FMAs per group in the order of its four codes a 32-bit lane, its eight lanes added in VectorMath.sum's
 * tree for 8 lanes (lane i + lane i + 4, then + 2, + 1), the Java kernel's empty tail (0.0f) added, times the row's
 * factor.
 *
 * Widening (Fp8BlockMatrix's MASK trick): code k of a 32-bit lane moved to bits 31..24, shifted right by 4 as a signed
 * integer (the sign to bit 31, the exponent and mantissa to bits 26..20), and ANDed with 0x87F00000, is the float of
 * the E4M3 value times 2^-120 (subnormal codes included), exactly; the activations' factors carry the 2^120. The Java
 * kernel shifts each code to the top with a 32-bit shift (three shifts, four arithmetic shifts and four ANDs a lane of
 * four codes); here, as at 512 bits, two 16-bit arithmetic shifts serve the four codes: codes 1 and 3 sit at the top
 * of their 16-bit halves already, and codes 0 and 2 are read from a second load one byte back (or, for the call's first
 * group, a shift by 8), whose halves hold them at the top. The floats are the same, so the FMAs give the same bits.
 *
 * Two streams: tile k of the call's first half goes with tile k + h of its second (h = tiles / 2; an odd last tile
 * alone), so eight accumulators take their FMAs side by side. Each row's four FMAs a group depend on each other, and
 * with one tile's four rows the chains (four cycles an FMA) left the FMA units half idle: [4864 x 896] in cache ran
 * 25.5-26.0 GB/s, 28.5-28.9 with two tiles. The two tiles lie far apart: next to each other (tiles k and k + 1, 3.5 KiB
 * apart on 896 columns) they read [151936 x 896] from DRAM slower than one tile (15-19 GB/s against 20-21, the same with
 * one prefetch stream over both), h tiles apart at 26-27 (calls of 256 tiles as Fp8BlockMatrix makes them; membw 29.3).
 * The first tile's activations are scaled for its band into scaled[0 .. cols), the second's into scaled[cols .. 2 cols);
 * the second tile's FMAs read theirs from memory (beside eight accumulators, the first tile's four activation vectors,
 * the mask and three temporaries fill AVX2's 16 registers; with both tiles' read from memory the loads slowed it).
 *
 * Layout (Fp8BlockMatrix, L = 8): tile k (four rows) at codes + 4 cols k; for each group of 32 columns c, the four rows'
 * 32-byte vectors follow each other (row j at + 4 c + 32 j), byte b of lane l the code of column c + 8 b + l.
 *
 * Arguments: args = {codes (address of the first tile), tiles, cols (a multiple of 32), ahead (bytes to prefetch ahead:
 * into L1 where positive, into L2 where negative, none at 0), r0 (the first tile's first row), band_rows (rows sharing
 * one set of activation factors; a multiple of 4 unless one band holds every row), nb (scale blocks per row), bw
 * (columns per block: a multiple of 16, or at least cols when nb is 1)}; x: the activations (cols floats); xscales:
 * band b's factor for block j at xscales[b * nb + j] (xscales[0] for all when nb is 1); factors: row r's factor at
 * factors[r]; y: row r's output at y[r]; scaled: room for 2 cols floats.
 *
 * Built by scripts/native/build-kernels.sh (AVX2, FMA and F16C only) into the bytes org.redhare.core.matrix.Avx2Code
 * carries.
 */
#include "avx2.h"

#define FMA_REG(A, W, X) A = _mm256_fmadd_ps(W, X, A)

/* Row J's FMAs of a group into A (Q: the group's codes of the tile; FIRST for the call's first group, whose earlier
 * byte may lie outside the codes; FMA and X0 .. X3: activations in registers (FMA_REG) or at addresses (FMA_FROM)). */
#define ROW(A, Q, J, FIRST, FMA, X0, X1, X2, X3) { \
        const __m256i v = _mm256_loadu_si256((const __m256i *) ((Q) + 32 * (J))); \
        const __m256i u = (FIRST) ? _mm256_slli_epi32(v, 8) : _mm256_loadu_si256((const __m256i *) ((Q) + 32 * (J) - 1)); \
        const __m256i t = _mm256_srai_epi16(v, 4), s = _mm256_srai_epi16(u, 4); \
        FMA(A, _mm256_castsi256_ps(_mm256_and_si256(_mm256_slli_epi32(s, 16), mask)), X0); \
        FMA(A, _mm256_castsi256_ps(_mm256_and_si256(_mm256_slli_epi32(t, 16), mask)), X1); \
        FMA(A, _mm256_castsi256_ps(_mm256_and_si256(s, mask)), X2); \
        FMA(A, _mm256_castsi256_ps(_mm256_and_si256(t, mask)), X3); }

/* The activations scaled for row R's band into DST, unless they are there already (B: that band, NEXT: its end). */
#define BAND(R, B, NEXT, DST) \
        if ((R) >= NEXT) { \
            B = (R) / band_rows; \
            NEXT = (B + 1) * band_rows; \
            for (long j = 0, c0 = 0; c0 < cols; j++, c0 += bw) { \
                const __m256 f = _mm256_set1_ps(xscales[nb > 1 ? B * nb + j : 0]); \
                const long c1 = nb > 1 && c0 + bw < cols ? c0 + bw : cols; \
                for (long c = c0; c < c1; c += 8) { \
                    _mm256_storeu_ps((DST) + c, _mm256_mul_ps(_mm256_loadu_ps(xin + c), f)); \
                } \
            } \
        }

/* A tile's four sums to rows R .. R + 3: lane tree, the Java kernel's empty tail, the row factor. */
#define OUT4(A0, A1, A2, A3, R) \
        y[R] = (lanes8(A0) + 0.0f) * factors[R]; \
        y[(R) + 1] = (lanes8(A1) + 0.0f) * factors[(R) + 1]; \
        y[(R) + 2] = (lanes8(A2) + 0.0f) * factors[(R) + 2]; \
        y[(R) + 3] = (lanes8(A3) + 0.0f) * factors[(R) + 3];

/* Group c of the tiles at pa (rows a0 .. a3, activations xa) and pb (b0 .. b3, xb), rows taking turns. */
#define PAIR_GROUP(FIRST) { \
            const unsigned char *const qa = pa + 4 * c, *const qb = pb + 4 * c; \
            PREFETCH_BLOCK(qa, 128, ahead) \
            PREFETCH_BLOCK(qb, 128, ahead) \
            const __m256 x0 = _mm256_loadu_ps(xa + c), x1 = _mm256_loadu_ps(xa + c + 8); \
            const __m256 x2 = _mm256_loadu_ps(xa + c + 16), x3 = _mm256_loadu_ps(xa + c + 24); \
            const float *const z = xb + c; \
            ROW(a0, qa, 0, FIRST, FMA_REG, x0, x1, x2, x3) \
            ROW(b0, qb, 0, 0, FMA_FROM, z, z + 8, z + 16, z + 24) \
            ROW(a1, qa, 1, FIRST, FMA_REG, x0, x1, x2, x3) \
            ROW(b1, qb, 1, 0, FMA_FROM, z, z + 8, z + 16, z + 24) \
            ROW(a2, qa, 2, FIRST, FMA_REG, x0, x1, x2, x3) \
            ROW(b2, qb, 2, 0, FMA_FROM, z, z + 8, z + 16, z + 24) \
            ROW(a3, qa, 3, FIRST, FMA_REG, x0, x1, x2, x3) \
            ROW(b3, qb, 3, 0, FMA_FROM, z, z + 8, z + 16, z + 24) }

/* Group c of the lone tile at pa. */
#define LONE_GROUP(FIRST) { \
            const unsigned char *const qa = pa + 4 * c; \
            PREFETCH_BLOCK(qa, 128, ahead) \
            const __m256 x0 = _mm256_loadu_ps(xa + c), x1 = _mm256_loadu_ps(xa + c + 8); \
            const __m256 x2 = _mm256_loadu_ps(xa + c + 16), x3 = _mm256_loadu_ps(xa + c + 24); \
            ROW(a0, qa, 0, FIRST, FMA_REG, x0, x1, x2, x3) \
            ROW(a1, qa, 1, FIRST, FMA_REG, x0, x1, x2, x3) \
            ROW(a2, qa, 2, FIRST, FMA_REG, x0, x1, x2, x3) \
            ROW(a3, qa, 3, FIRST, FMA_REG, x0, x1, x2, x3) }

/* Tile k's groups through GROUP(FIRST), the call's first group (k and c zero) apart. */
#define GROUPS(GROUP) { \
        long c = 0; \
        if (k == 0) { \
            GROUP(1) \
            c = 32; \
        } \
        for (; c < cols; c += 32) GROUP(0) }

void fp8_decode(const long *args, const float *xin, const float *xscales, const float *factors, float *y, float *scaled) {
    const unsigned char *const codes = (const unsigned char *) args[0];
    const long tiles = args[1], cols = args[2], ahead = args[3], r0 = args[4], band_rows = args[5], nb = args[6], bw = args[7];
    const __m256i mask = splat32((int) 0x87F00000);
    float *const xa = scaled, *const xb = scaled + cols;
    const long h = tiles / 2;
    long band_a = -1, next_a = 0, band_b = -1, next_b = 0; /* the bands whose activations are in xa, xb; their ends */
    for (long k = 0; k < h; k++) {
        const long ra = r0 + 4 * k, rb = ra + 4 * h;
        BAND(ra, band_a, next_a, xa)
        BAND(rb, band_b, next_b, xb)
        const unsigned char *const pa = codes + 4 * cols * k, *const pb = pa + 4 * cols * h;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
        GROUPS(PAIR_GROUP)
        OUT4(a0, a1, a2, a3, ra)
        OUT4(b0, b1, b2, b3, rb)
    }
    if (tiles % 2 != 0) {
        const long k = tiles - 1, ra = r0 + 4 * k;
        BAND(ra, band_a, next_a, xa)
        const unsigned char *const pa = codes + 4 * cols * k;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        GROUPS(LONE_GROUP)
        OUT4(a0, a1, a2, a3, ra)
    }
}
