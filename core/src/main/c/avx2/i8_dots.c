/*
 * RedHare native kernel for AVX2 CPUs: int8 codes (Int8RowMatrix's four-row tiles with 8-float vectors, see i8_rows4.c
 * for the layout) times one or several tokens' activations quantized to bytes, in integers, as ../i8_dots.c does with
 * AVX512-VNNI: the LM head's screen (ScreenedHead) reads these sums as its coarse logits. Integer sums are exact, so
 * any order gives the same result.
 *
 * Built twice. With AVX-VNNI (../avxvnni/i8_dots.c: Intel client cores since Alder Lake, E-core Xeons) each step is one
 * VPDPBUSD of the activations plus 128 (unsigned) by the codes, and a sum is that of (code + 128) * weight, as
 * ../i8_dots.c gives. Without it (AVX2 alone: Zen 2 and Zen 3, Intel cores before Ice Lake) VPMADDUBSW would saturate on
 * such products (two of 255 * 127 exceed 2^15), so each weight's magnitude multiplies the activation's signed code
 * carrying the weight's sign (VPSIGNB), two products at most 2 * 127 * 127 < 2^15 in 16 bits, VPMADDWD by ones into 32:
 * a sum is that of code * weight. Int8RowMatrix.dotsOffset says which (128 or 0).
 *
 * Why: in floats (i8_rows4.c) each code costs a shift, a conversion and an FMA; here 32 codes cost one to four
 * operations, so the screen keeps pace with memory, and a batch's tokens share each code's load.
 *
 * Arguments: args = {codes (address), tiles, cols (codes per row), full (columns taken, a multiple of 32), groups (of
 * four tokens; 0 for one token), ahead (bytes to prefetch ahead of the codes, in the one token's pass or the first pair
 * of tokens': into L1 where positive, into L2 where negative, none at 0; the Java side passes 0 for one token), oo (where the sums start in out)}; xq: token t's activations at xq + t * full as unsigned bytes
 * (the signed code plus 128; codes -127 to 127, as ScreenedHead quantizes them: VPSIGNB would leave -128 negated
 * as -128), ordered as the codes are (byte b of 32-bit lane l of group c: column c + 8 b + l); out:
 * row i of tile k, token t at out[oo + (4 k + i) * 4 * groups + t] (one token: out[oo + 4 k + i]).
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.Avx2Code (and AvxVnniCode) carries.
 */
#include "avx2.h"

#ifdef __AVXVNNI__
/* The activations as loaded: their codes plus 128. */
#define ACTIVATIONS(P) _mm256_loadu_si256((const __m256i *) (P))
/* A += the products of one row's 32 codes W with activations X. */
#define PRODUCTS(A, W, X) A = _mm256_dpbusd_avx_epi32(A, X, W)
#else
/* The activations' signed codes: (code + 128) ^ 0x80. */
#define ACTIVATIONS(P) _mm256_xor_si256(_mm256_loadu_si256((const __m256i *) (P)), flip)
#define PRODUCTS(A, W, X) A = _mm256_add_epi32(A, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(W), \
        _mm256_sign_epi8(X, W)), ones))
#endif

/* Four rows' sums of 8 lanes each, as {row 0, row 1, row 2, row 3}. */
static inline __attribute__((always_inline)) __m128i sums4(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
    const __m256i h = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
    return _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
}

void i8_dots(const long *args, const unsigned char *xq, int *out) {
    const unsigned char *const codes = (const unsigned char *) args[0];
    const long tiles = args[1], cols = args[2], full = args[3], groups = args[4], ahead = args[5];
    out += args[6];
#ifndef __AVXVNNI__
    const __m256i flip = splat32((int) 0x80808080), ones = splat32(0x00010001);
#endif
    if (groups == 0) { /* one token: a decode step */
        for (long k = 0; k < tiles; k++) {
            const unsigned char *p = codes + 4 * cols * k;
            __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
            for (long c = 0; c < full; c += 32) {
                const unsigned char *q = p + 4 * c;
                PREFETCH_BLOCK(q, 128, ahead)
                const __m256i x = ACTIVATIONS(xq + c);
                PRODUCTS(a0, _mm256_loadu_si256((const __m256i *) q), x);
                PRODUCTS(a1, _mm256_loadu_si256((const __m256i *) (q + 32)), x);
                PRODUCTS(a2, _mm256_loadu_si256((const __m256i *) (q + 64)), x);
                PRODUCTS(a3, _mm256_loadu_si256((const __m256i *) (q + 96)), x);
            }
            _mm_storeu_si128((__m128i *) (out + 4 * k), sums4(a0, a1, a2, a3));
        }
        return;
    }
    /* Several tokens: a tile's four rows times two tokens at a time (eight accumulators; sixteen registers in all), the
     * tile's codes read from memory by the first pair and from cache by the others. */
    const long ntok = 4 * groups;
    for (long k = 0; k < tiles; k++) {
        const unsigned char *p = codes + 4 * cols * k;
        for (long t = 0; t < ntok; t += 2) {
            const unsigned char *x = xq + t * full;
            __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (long c = 0; c < full; c += 32) {
                const unsigned char *q = p + 4 * c;
                if (t == 0) {
                    PREFETCH_BLOCK(q, 128, ahead)
                }
                const __m256i x0 = ACTIVATIONS(x + c), x1 = ACTIVATIONS(x + full + c);
                __m256i w = _mm256_loadu_si256((const __m256i *) q);
                PRODUCTS(a0, w, x0);
                PRODUCTS(b0, w, x1);
                w = _mm256_loadu_si256((const __m256i *) (q + 32));
                PRODUCTS(a1, w, x0);
                PRODUCTS(b1, w, x1);
                w = _mm256_loadu_si256((const __m256i *) (q + 64));
                PRODUCTS(a2, w, x0);
                PRODUCTS(b2, w, x1);
                w = _mm256_loadu_si256((const __m256i *) (q + 96));
                PRODUCTS(a3, w, x0);
                PRODUCTS(b3, w, x1);
            }
            int s[8];
            _mm_storeu_si128((__m128i *) s, sums4(a0, a1, a2, a3));
            _mm_storeu_si128((__m128i *) (s + 4), sums4(b0, b1, b2, b3));
            int *const o = out + 4 * k * ntok + t;
            for (long i = 0; i < 4; i++) {
                o[i * ntok] = s[i];
                o[i * ntok + 1] = s[4 + i];
            }
        }
    }
}
