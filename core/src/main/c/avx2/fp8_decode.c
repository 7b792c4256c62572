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
 * Layout (Fp8BlockMatrix, L = 8): tile k (four rows) at codes + 4 cols k; for each group of 32 columns c, the four rows'
 * 32-byte vectors follow each other (row j at + 4 c + 32 j), byte b of lane l the code of column c + 8 b + l.
 *
 * Arguments: args = {codes (address of the first tile), tiles, cols (a multiple of 32), ahead (bytes to prefetch ahead:
 * into L1 where positive, into L2 where negative, none at 0), r0 (the first tile's first row), band_rows (rows sharing
 * one set of activation factors; a multiple of 4 unless one band holds every row), nb (scale blocks per row), bw
 * (columns per block: a multiple of 16, or at least cols when nb is 1)}; x: the activations (cols floats); xscales:
 * band b's factor for block j at xscales[b * nb + j] (xscales[0] for all when nb is 1); factors: row r's factor at
 * factors[r]; y: row r's output at y[r]; scaled: room for cols floats.
 *
 * Built by scripts/native/build-kernels.sh (AVX2, FMA and F16C only) into the bytes org.redhare.core.matrix.Avx2Code
 * carries.
 */
#include "avx2.h"

/* Row J's FMAs of a group into A (q: the group's codes; k | c zero for the call's first group, whose earlier byte may
 * lie outside the codes). */
#define ROW(A, J) { \
        const __m256i v = _mm256_loadu_si256((const __m256i *) (q + 32 * (J))); \
        const __m256i u = (k | c) != 0 ? _mm256_loadu_si256((const __m256i *) (q + 32 * (J) - 1)) : _mm256_slli_epi32(v, 8); \
        const __m256i t = _mm256_srai_epi16(v, 4), s = _mm256_srai_epi16(u, 4); \
        A = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(_mm256_slli_epi32(s, 16), mask)), x0, A); \
        A = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(_mm256_slli_epi32(t, 16), mask)), x1, A); \
        A = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(s, mask)), x2, A); \
        A = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(t, mask)), x3, A); }

void fp8_decode(const long *args, const float *xin, const float *xscales, const float *factors, float *y, float *scaled) {
    const unsigned char *const codes = (const unsigned char *) args[0];
    const long tiles = args[1], cols = args[2], ahead = args[3], r0 = args[4], band_rows = args[5], nb = args[6], bw = args[7];
    const __m256i mask = splat32((int) 0x87F00000);
    const float *const x = scaled;
    long band = -1, next = 0; /* the band whose factors are in scaled; the first row past it */
    for (long k = 0; k < tiles; k++) {
        const long r = r0 + 4 * k;
        if (r >= next) {
            band = r / band_rows;
            next = (band + 1) * band_rows;
            for (long j = 0, c0 = 0; c0 < cols; j++, c0 += bw) {
                const __m256 f = _mm256_set1_ps(xscales[nb > 1 ? band * nb + j : 0]);
                const long c1 = nb > 1 && c0 + bw < cols ? c0 + bw : cols;
                for (long c = c0; c < c1; c += 8) {
                    _mm256_storeu_ps(scaled + c, _mm256_mul_ps(_mm256_loadu_ps(xin + c), f));
                }
            }
        }
        const unsigned char *const p = codes + 4 * cols * k;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (long c = 0; c < cols; c += 32) {
            const unsigned char *const q = p + 4 * c;
            TILE_GROUP
        }
        y[r] = (lanes8(a0) + 0.0f) * factors[r];
        y[r + 1] = (lanes8(a1) + 0.0f) * factors[r + 1];
        y[r + 2] = (lanes8(a2) + 0.0f) * factors[r + 2];
        y[r + 3] = (lanes8(a3) + 0.0f) * factors[r + 3];
    }
}
