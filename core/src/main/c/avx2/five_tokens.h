/*
 * RedHare native kernels for AVX2 CPUs (a template): 5-bit GGUF weights in VnniMatrix's layout, times a few tokens'
 * activations quantized to int8 per 32-column block, in integers, with the bits of ../vnni_tokens.h's forms 2 and 7 on
 * AVX512-VNNI (read there what they compute):
 *
 * FORM 2, Q5_K (Q5_KMatrix, the bulk of a Q5_K_M file: W = d sc u - dmin m, 5-bit u, 6-bit codes sc and m per 32
 * columns, d and -dmin per 256-column super-block as floats): per block and row T = sum(u xq), then fma(float(T),
 * (d sc) dx, acc) and fma(sum(xq), (-dmin m) dx, acc), over the blocks in column order from zero.
 *
 * FORM 7, Q5_1 (BlockIntMatrix: W = d u + m, f16 d and m per 32 columns; what a Q5_K_M file holds where rows are not a
 * multiple of 256, as Qwen2.5-0.5B's 896): per block and row T = sum(u xq), fma(float(T), d dx, acc), then fma(sum(xq),
 * m dx, acc).
 *
 * Without VPDPBUSD, a step's four columns go into a row's 32-bit lane through VPMADDUBSW (unsigned values times signed
 * activations, pairs into 16 bits: at most 2 * 31 * 127) and VPMADDWD by ones; a group's four steps are added in 16 bits
 * first (at most 4 * 2 * 31 * 127 = 31496, no overflow), so one VPMADDWD takes four steps. Each value is put together
 * from its nibble and fifth bit with shifts, two ANDs and an OR (AVX2 has no three-input logic operation).
 *
 * Layout (both forms; ../vnni_tokens.h, form 2): a tile of 32 rows, its block b at packed + BLOCK (tile nb + b); two
 * groups g of four steps (columns 4 s .. 4 s + 3, s = 4 g + k) at 320 g: four 64-byte vectors of nibbles (the k-th:
 * step s's rows 0..15 in bits 0..3, rows 16..31 in bits 4..7), then one of fifth bits (step s's rows 0..15 at bit 2 k,
 * rows 16..31 at bit 2 k + 1); each 64-byte vector 16 rows of four columns a 32-bit lane, read here as two 32-byte
 * halves of 8 rows. Then Q5_K's codes sc at 640 and m at 672 (a byte a row), d: row 32 t + i's super-block k's d at
 * d[(t nsb + k) 64 + i] and -dmin at d[(t nsb + k) 64 + 32 + i]; Q5_1's f16 d at 640 and m at 704 (two bytes a row).
 *
 * Arguments as q6k_tokens.c's (../vnni_tokens.h's, args[10] the prefetch distance). A tile at a time over all its
 * blocks, a token at a time; the quads' tiles as four runs in memory order.
 *
 * Included by q5k_tokens.c and q51_tokens.c, each with its FORM and NAME.
 */
#include "avx2.h"

#define BLOCK (FORM == 2 ? 704 : 768)

/* Bit B (0..7) of each byte of V moved to bit 4 (16-bit shifts: bit 4 of each byte comes from its own bit B). */
#define TO_BIT4(V, B) ((B) < 4 ? _mm256_slli_epi16(V, 4 - (B)) : (B) > 4 ? _mm256_srli_epi16(V, (B) - 4) : (V))

/* Step K's values of half H (rows 16 H ..) in the 32-byte piece at L (nibbles) and FB (fifth bits): nibble | fifth bit. */
#define VALUES(L, FB, K, H) _mm256_or_si256(_mm256_and_si256((H) ? _mm256_srli_epi16(L, 4) : (L), lo), \
        _mm256_and_si256(TO_BIT4(FB, 2 * (K) + (H)), m10))

/* Rows 8 P .. 8 P + 7 of half H (P = 2 H + piece): group G's four steps, their 16-bit sums added, then into 32 bits. */
#define GROUP(A, G, PIECE, H) { \
        const __m256i fb = _mm256_loadu_si256((const __m256i *) (q + 320 * (G) + 256 + 32 * (PIECE))); \
        const __m256i l0 = _mm256_loadu_si256((const __m256i *) (q + 320 * (G) + 32 * (PIECE))); \
        const __m256i l1 = _mm256_loadu_si256((const __m256i *) (q + 320 * (G) + 64 + 32 * (PIECE))); \
        const __m256i l2 = _mm256_loadu_si256((const __m256i *) (q + 320 * (G) + 128 + 32 * (PIECE))); \
        const __m256i l3 = _mm256_loadu_si256((const __m256i *) (q + 320 * (G) + 192 + 32 * (PIECE))); \
        DOTS4(A, VALUES(l0, fb, 0, H), _mm256_set1_epi32(xi[8 * b + 4 * (G)]), VALUES(l1, fb, 1, H), _mm256_set1_epi32(xi[8 * b + 4 * (G) + 1]), \
                VALUES(l2, fb, 2, H), _mm256_set1_epi32(xi[8 * b + 4 * (G) + 2]), VALUES(l3, fb, 3, H), _mm256_set1_epi32(xi[8 * b + 4 * (G) + 3])); }

/* Rows 8 R .. 8 R + 7 (R = 2 H + PIECE) of the block: T over both groups, folded into F. */
#define ROWS8(F, PIECE, H) { \
        __m256i a = _mm256_setzero_si256(); \
        GROUP(a, 0, PIECE, H) \
        GROUP(a, 1, PIECE, H) \
        FOLD(F, 2 * (H) + (PIECE), a) }

#if FORM == 2
/* fma(float(T), (d sc) dx, acc), then fma(sum(xq), (-dmin m) dx, acc): d, -dmin per super-block, sc, m per block. */
#define FOLD(F, R, A) { \
        const float *const ds = d + 64 * (tile * nsb + (b >> 3)) + 8 * (R); \
        const __m256 s = _mm256_mul_ps(_mm256_loadu_ps(ds), \
                _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (q + 640 + 8 * (R)))))); \
        const __m256 o = _mm256_mul_ps(_mm256_loadu_ps(ds + 32), \
                _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (q + 672 + 8 * (R)))))); \
        F = _mm256_fmadd_ps(_mm256_cvtepi32_ps(A), _mm256_mul_ps(s, dx), F); \
        F = _mm256_fmadd_ps(sq, _mm256_mul_ps(o, dx), F); }
#else
/* fma(float(T), d dx, acc), then fma(sum(xq), m dx, acc): f16 d and m per block and row. */
#define FOLD(F, R, A) { \
        F = _mm256_fmadd_ps(_mm256_cvtepi32_ps(A), \
                _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (q + 640 + 16 * (R)))), dx), F); \
        F = _mm256_fmadd_ps(sq, _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (q + 704 + 16 * (R)))), dx), F); }
#endif

/* Block b of the tile (at q) for token t, into f0 .. f3 (avx2.h's TILE_RUNS). */
#define BLOCK_SUMS \
        const __m256 dx = _mm256_set1_ps(dxt[b]); \
        const __m256 sq = _mm256_set1_ps((float) ((int) xs[2 * b] + (int) xs[2 * b + 1])); \
        ROWS8(f0, 0, 0) \
        ROWS8(f1, 1, 0) \
        ROWS8(f2, 0, 1) \
        ROWS8(f3, 1, 1)

void NAME(const long *args, const short *xp, const float *xf, const float *d, float *y) {
    KERNEL_ARGS
    const __m256i lo = splat32(0x0F0F0F0F), m10 = splat32(0x10101010), ones = splat32(0x00010001);
    (void) ones;
    TILE_RUNS(BLOCK, BLOCK_SUMS)
}
