/*
 * One row's FMAs for one group of FP8-E4M3 codes (Fp8BlockMatrix's tile layout, see rows4.h), shared by the one-token
 * kernels fp8_rows4.c and fp8_decode.c; fp8_rows4.c says how the codes widen (16-bit halves, AVX-512BW) and why the
 * floats are the Java kernel's. FP8_ROW(A, J, UNUSED) expects q (the group's codes) and x0 .. x3.
 */
#pragma GCC target("avx512bw")
#include "rows4.h"

#define FP8_MASK _mm512_set1_epi32((int) 0x87F00000)
#define FP8_TOP(u) _mm512_castsi512_ps(_mm512_and_si512(u, FP8_MASK))

#define FP8_ROW(A, J, UNUSED) { \
        const __m512i v = _mm512_loadu_si512((const void *) (q + 64 * (J))); \
        const __m512i u = _mm512_slli_epi32(v, 8); \
        const __m512i t = _mm512_srai_epi16(v, 4), s = _mm512_srai_epi16(u, 4); \
        A = _mm512_fmadd_ps(FP8_TOP(_mm512_slli_epi32(s, 16)), x0, A); \
        A = _mm512_fmadd_ps(FP8_TOP(_mm512_slli_epi32(t, 16)), x1, A); \
        A = _mm512_fmadd_ps(FP8_TOP(s), x2, A); \
        A = _mm512_fmadd_ps(FP8_TOP(t), x3, A); }

/* Tokens 0 .. TOKENS-1 of the activations IN (token t at IN + t * cols) scaled by band BAND's factors into OUT (the same
 * layout): block j's columns times xscales[BAND * nb + j] (xscales[0] for all when nb is 1). Expects cols, nb, bw and
 * xscales. Lane-wise multiplies, as Fp8BlockMatrix.scaleActivations, so the same floats. */
#define FP8_SCALE_BAND(OUT, IN, TOKENS, BAND) \
        for (long t_ = 0; t_ < (TOKENS); t_++) { \
            for (long j_ = 0, c0_ = 0; c0_ < cols; j_++, c0_ += bw) { \
                const __m512 f_ = _mm512_set1_ps(xscales[nb > 1 ? (BAND) * nb + j_ : 0]); \
                const long c1_ = nb > 1 && c0_ + bw < cols ? c0_ + bw : cols; \
                for (long c_ = c0_; c_ < c1_; c_ += 16) { \
                    _mm512_storeu_ps((OUT) + t_ * cols + c_, _mm512_mul_ps(_mm512_loadu_ps((IN) + t_ * cols + c_), f_)); \
                } \
            } \
        }
