/*
 * RedHare native kernels for AVX2 CPUs (a template): GGUF weights of 2 to 4 bits a value in VnniMatrix's layouts, times
 * a few tokens' activations quantized to int8 per 32-column block, in integers, with the bits of ../vnni_tokens.h's
 * forms 8 to 11 on AVX512-VNNI (read there what they compute and how they are laid out):
 *
 * FORM 8, IQ4_NL (BlockIntMatrix: W = d level(u), ggml's 16 int8 levels, f16 d per 32 columns at 512): per block and
 * row T = sum(level xq), fma(float(T), d dx, acc).
 *
 * FORM 9, IQ4_XS (IQ4_XSIntMatrix: W = d sc level(u), a signed scale code sc per 32 columns at 512, d per 256-column
 * super-block): T as form 8's, fma(float(T), (d sc) dx, acc).
 *
 * FORM 10, Q3_K (Q3_KIntMatrix: W = d sc (u - 4), 3-bit u, int8 scales sc per 16 columns at 384 and 416, d per
 * super-block): per unit j T_j = sum((u - 4) xq), per block the integer sc_0 T_0 + sc_1 T_1, fma(float(it), d dx, acc).
 *
 * FORM 11, Q2_K (Q2_KIntMatrix: W = d sc u - dmin m, 2-bit u, codes sc | m << 4 per 16 columns at 256 and 288, d and
 * -dmin per super-block): per unit T_j = sum(u xq), per block the integers sc_0 T_0 + sc_1 T_1 and m_0 sum(xq)_0 + m_1
 * sum(xq)_1, fma(float(first), d dx, acc), then fma(float(second), -dmin dx, acc).
 *
 * Without VPDPBUSD, four columns go into a row's 32-bit lane through VPMADDUBSW (unsigned by signed bytes, pairs into
 * 16 bits) and VPMADDWD by ones. The K-quants' values are small (at most 7 by 127, a unit's four steps' 16-bit sums at
 * most 7112) and are added in 16 bits over a unit before one VPMADDWD; IQ4's levels are signed (-127..113), so as
 * llama.cpp's AVX2 code does, each level's magnitude (VPABSB) multiplies the activation given the level's sign
 * (VPSIGNB), at most 2 * 127 * 127 a pair, a step at a time. T is the same integer the AVX-512 kernel sums (from the
 * levels plus 128, less 128 sum(xq)), so the same bits.
 *
 * Layouts: a tile of 32 rows, its block b at packed + BLOCK (tile nb + b); every 64-byte vector is 16 rows of four
 * columns a 32-bit lane, read here as two 32-byte halves of 8 rows. d: IQ4_XS's and Q3_K's d of row 32 t + i's
 * super-block k at d[(t nsb + k) 32 + i]; Q2_K's d at d[(t nsb + k) 64 + i] and -dmin 32 further.
 *
 * Arguments as q6k_tokens.c's (../vnni_tokens.h's, args[10] the prefetch distance). A tile at a time over all its
 * blocks, a token at a time; the quads' tiles as four runs in memory order.
 *
 * Included by iq4nl_tokens.c, iq4xs_tokens.c, q3k_tokens.c and q2k_tokens.c, each with its FORM and NAME.
 */
#include "avx2.h"

#define BLOCK (FORM == 8 ? 576 : FORM == 9 ? 544 : FORM == 10 ? 448 : 320)

/* A 16-bit lane shift by N bits, right where N is positive, left where it is negative (N a constant). */
#define SHIFT16(V, N) ((N) > 0 ? _mm256_srli_epi16(V, (N) > 0 ? (N) : 0) : (N) < 0 ? _mm256_slli_epi16(V, (N) < 0 ? -(N) : 0) : (V))

#if FORM == 8 || FORM == 9
/* Step S, both halves of piece P (rows 8 P .. of half 0 into A0, of half 1 into A1): the nibbles' levels looked up.
 * With AVX-VNNI the levels plus 128 (the table's bytes with their top bit flipped), times the activations, the sums
 * starting at -128 sum(xq) as on AVX512-VNNI; otherwise the signed levels, magnitude by the activation with the
 * level's sign. */
#ifdef __AVXVNNI__
#define LEVEL_STEP(A0, A1, P, S) { \
        const __m256i l = _mm256_loadu_si256((const __m256i *) (q + 64 * (S) + 32 * (P))); \
        const __m256i xv = _mm256_set1_epi32(xi[8 * b + (S)]); \
        DOTS1(A0, _mm256_shuffle_epi8(lut, _mm256_and_si256(l, lo)), xv); \
        DOTS1(A1, _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(l, 4), lo)), xv); }
#define START _mm256_set1_epi32(-128 * ((int) xs[2 * b] + (int) xs[2 * b + 1]))
#define LUT_FLIP 0x8080808080808080UL
#else
#define LEVEL_STEP(A0, A1, P, S) { \
        const __m256i l = _mm256_loadu_si256((const __m256i *) (q + 64 * (S) + 32 * (P))); \
        const __m256i xv = _mm256_set1_epi32(xi[8 * b + (S)]); \
        const __m256i v0 = _mm256_shuffle_epi8(lut, _mm256_and_si256(l, lo)); \
        const __m256i v1 = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(l, 4), lo)); \
        DOTS1(A0, _mm256_abs_epi8(v0), _mm256_sign_epi8(xv, v0)); \
        DOTS1(A1, _mm256_abs_epi8(v1), _mm256_sign_epi8(xv, v1)); }
#define START _mm256_setzero_si256()
#define LUT_FLIP 0UL
#endif

#define PIECE(F0, F1, P) { \
        __m256i a0 = START, a1 = a0; \
        LEVEL_STEP(a0, a1, P, 0) LEVEL_STEP(a0, a1, P, 1) LEVEL_STEP(a0, a1, P, 2) LEVEL_STEP(a0, a1, P, 3) \
        LEVEL_STEP(a0, a1, P, 4) LEVEL_STEP(a0, a1, P, 5) LEVEL_STEP(a0, a1, P, 6) LEVEL_STEP(a0, a1, P, 7) \
        FOLD(F0, P, a0) \
        FOLD(F1, 2 + (P), a1) }
#else
#if FORM == 10
/* Step S (0..3) of unit J, both halves of piece P: each value's two low bits from pair vector S / 2 (bits 4 (S % 2)
 * and 4 (S % 2) + 2), its third bit from the unit's bit vector (bits 2 S and 2 S + 1), into the 16-bit sums S0, S1. */
#define UNIT_STEP(S0, S1, J, P, S) { \
        const __m256i p = _mm256_loadu_si256((const __m256i *) (q + 192 * (J) + 64 * ((S) / 2) + 32 * (P))); \
        const __m256i h = _mm256_loadu_si256((const __m256i *) (q + 192 * (J) + 128 + 32 * (P))); \
        const __m256i xv = _mm256_set1_epi32(xi[8 * b + 4 * (J) + (S)]); \
        ACC16(S0, _mm256_or_si256(_mm256_and_si256(SHIFT16(p, 4 * ((S) % 2)), m03), _mm256_and_si256(SHIFT16(h, 2 * (S) - 2), m04)), xv); \
        ACC16(S1, _mm256_or_si256(_mm256_and_si256(SHIFT16(p, 4 * ((S) % 2) + 2), m03), _mm256_and_si256(SHIFT16(h, 2 * (S) - 1), m04)), xv); }
/* The unit's scale codes of rows 8 R .. 8 R + 7 (int8). */
#define UNIT_SCALE(J, R) _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *) (q + 384 + 32 * (J) + 8 * (R))))
#define CENTER(J) _mm256_set1_epi32(-4 * (int) xs[2 * b + (J)])
#else
/* Step S (0..3) of unit J, both halves of piece P: each value's two bits from pair vector S / 2. */
#define UNIT_STEP(S0, S1, J, P, S) { \
        const __m256i p = _mm256_loadu_si256((const __m256i *) (q + 128 * (J) + 64 * ((S) / 2) + 32 * (P))); \
        const __m256i xv = _mm256_set1_epi32(xi[8 * b + 4 * (J) + (S)]); \
        ACC16(S0, _mm256_and_si256(SHIFT16(p, 4 * ((S) % 2)), m03), xv); \
        ACC16(S1, _mm256_and_si256(SHIFT16(p, 4 * ((S) % 2) + 2), m03), xv); }
/* The unit's scales of rows 8 R .. 8 R + 7: the codes' low nibbles. */
#define UNIT_SCALE(J, R) _mm256_and_si256(byte15, _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (q + 256 + 32 * (J) + 8 * (R)))))
#define CENTER(J) _mm256_setzero_si256()
#endif

/* Unit J of piece P, both halves: four steps' sums (in 16 bits without AVX-VNNI), widened, the center taken off, times
 * the unit's scales. */
#define UNIT(I0, I1, J, P) { \
        __m256i s0 = _mm256_setzero_si256(), s1 = s0; \
        UNIT_STEP(s0, s1, J, P, 0) UNIT_STEP(s0, s1, J, P, 1) UNIT_STEP(s0, s1, J, P, 2) UNIT_STEP(s0, s1, J, P, 3) \
        I0 = _mm256_add_epi32(I0, _mm256_mullo_epi32(_mm256_add_epi32(WIDEN16(s0), CENTER(J)), UNIT_SCALE(J, P))); \
        I1 = _mm256_add_epi32(I1, _mm256_mullo_epi32(_mm256_add_epi32(WIDEN16(s1), CENTER(J)), UNIT_SCALE(J, 2 + (P)))); }

#define PIECE(F0, F1, P) { \
        __m256i i0 = _mm256_setzero_si256(), i1 = i0; \
        UNIT(i0, i1, 0, P) \
        UNIT(i0, i1, 1, P) \
        FOLD(F0, P, i0) \
        FOLD(F1, 2 + (P), i1) }
#endif

#if FORM == 8
/* Rows 8 R .. 8 R + 7: fma(float(T), d dx, acc), f16 d per block and row. */
#define FOLD(F, R, A) F = _mm256_fmadd_ps(_mm256_cvtepi32_ps(A), \
        _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (q + 512 + 16 * (R)))), dx), F);
#elif FORM == 9
/* fma(float(T), (d sc) dx, acc): d per super-block, sc the block's signed code. */
#define FOLD(F, R, A) { \
        const __m256 s = _mm256_mul_ps(_mm256_loadu_ps(d + 32 * (tile * nsb + (b >> 3)) + 8 * (R)), \
                _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *) (q + 512 + 8 * (R)))))); \
        F = _mm256_fmadd_ps(_mm256_cvtepi32_ps(A), _mm256_mul_ps(s, dx), F); }
#elif FORM == 10
/* fma(float(sum sc T), d dx, acc). */
#define FOLD(F, R, A) F = _mm256_fmadd_ps(_mm256_cvtepi32_ps(A), \
        _mm256_mul_ps(_mm256_loadu_ps(d + 32 * (tile * nsb + (b >> 3)) + 8 * (R)), dx), F);
#else
/* The min codes (high nibbles) of unit J, rows 8 R .. */
#define MINS(J, R) _mm256_srli_epi32(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (q + 256 + 32 * (J) + 8 * (R)))), 4)
/* fma(float(sum sc T), d dx, acc), then fma(float(m_0 sum(xq)_0 + m_1 sum(xq)_1), -dmin dx, acc). */
#define FOLD(F, R, A) { \
        const float *const ds = d + 64 * (tile * nsb + (b >> 3)) + 8 * (R); \
        F = _mm256_fmadd_ps(_mm256_cvtepi32_ps(A), _mm256_mul_ps(_mm256_loadu_ps(ds), dx), F); \
        F = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_mullo_epi32(MINS(0, R), sx0), _mm256_mullo_epi32(MINS(1, R), sx1))), \
                _mm256_mul_ps(_mm256_loadu_ps(ds + 32), dx), F); }
#endif

/* Block b of the tile (at q) for token t, into f0 .. f3 (avx2.h's TILE_RUNS). */
#define BLOCK_SUMS \
        const __m256 dx = _mm256_set1_ps(dxt[b]); \
        const __m256i sx0 = _mm256_set1_epi32(xs[2 * b]), sx1 = _mm256_set1_epi32(xs[2 * b + 1]); \
        (void) sx0; \
        (void) sx1; \
        PIECE(f0, f2, 0) \
        PIECE(f1, f3, 1)

void NAME(const long *args, const short *xp, const float *xf, const float *d, float *y) {
    KERNEL_ARGS
    const __m256i ones = splat32(0x00010001);
    (void) ones;
#if FORM == 8 || FORM == 9
    /* ggml's kvalues_iq4nl (-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113) in both 128-bit
     * lanes, through registers (no data section) */
    long lut0 = (long) (0xF6EADDCFBFAD9881UL ^ LUT_FLIP), lut1 = (long) (0x7159453526190D01UL ^ LUT_FLIP);
    __asm__("" : "+r"(lut0), "+r"(lut1));
    const __m256i lut = _mm256_broadcastsi128_si256(_mm_insert_epi64(_mm_cvtsi64_si128(lut0), lut1, 1));
    const __m256i lo = splat32(0x0F0F0F0F);
#else
    const __m256i m03 = splat32(0x03030303), m04 = splat32(0x04040404), byte15 = splat32(15);
    (void) m04;
    (void) byte15;
#endif
    TILE_RUNS(BLOCK, BLOCK_SUMS)
}
