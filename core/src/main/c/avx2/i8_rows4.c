/*
 * RedHare native kernel for AVX2 CPUs: int8 codes with a scale per row (Int8RowMatrix with 8-float vectors, the LM
 * head's screen) times one token's activations, as ../i8_rows4.c does at 512 bits and with the bits of the Java kernel
 * it stands for (Int8RowMatrix.stream4 at 8 lanes): per row one accumulator, its FMAs in column order (each group's
 * four codes a lane in the order of their columns), its eight lanes added in VectorMath.sum's tree for 8 lanes (lane i
 * + lane i + 4, then + 2, + 1); the caller adds the tail and multiplies by the row's scale. Byte k of a lane widens as
 * (lane << (24 - 8k)) >> 24, arithmetic, converted to float (exact: |code| <= 127); bytes 0, 1 and 2 are read as the top
 * bytes of the vectors loaded 3, 2 and 1 bytes before the group (one shift instead of two; the bytes below are the
 * previous group's or row's, shifted out), except before the call's first group, whose earlier bytes may lie outside
 * the codes.
 *
 * Why: on AVX2 the screen of Qwen2.5-0.5B's BF16 LM head reads a 136 MB int8 copy a token, a fifth of what an FP8
 * checkpoint as published reads, and the Java kernel widened it well below the memory's speed.
 *
 * Layout (Int8RowMatrix, L = 8): tile k (four rows) at codes + 4 cols k; for each group of 32 columns c, the four rows'
 * 32-byte vectors follow each other (row j at + 4 c + 32 j), byte b of lane l the code of column c + 8 b + l; columns
 * past the last whole group come after the groups.
 *
 * Arguments (System V AMD64, those of ../i8_rows4.c): codes, tiles, cols (codes per row: the tile pitch is 4 * cols),
 * full (columns taken, a multiple of 32), buf with the activations at buf + xo (full floats) and room for the sums at
 * buf + oo (tiles * 4 floats), ahead (bytes to prefetch ahead: into L1 where positive, into L2 -ahead bytes ahead where
 * negative, none at 0).
 *
 * Built by scripts/native/build-kernels.sh (AVX2, FMA and F16C only) into the bytes org.redhare.core.matrix.Avx2Code
 * carries.
 */
#include "avx2.h"

#define I8_WIDEN(v, k) _mm256_cvtepi32_ps(_mm256_srai_epi32((k) == 3 ? (v) : _mm256_slli_epi32(v, 24 - 8 * (k)), 24))
#define I8_TOP(o) _mm256_cvtepi32_ps(_mm256_srai_epi32(_mm256_loadu_si256((const __m256i *) (q + (o))), 24))

/* Row J's FMAs of a group into A (LATER: not the call's first group). */
#define ROW(A, J) { \
        const __m256i v = _mm256_loadu_si256((const __m256i *) (q + 32 * (J))); \
        A = _mm256_fmadd_ps(later ? I8_TOP(32 * (J) - 3) : I8_WIDEN(v, 0), x0, A); \
        A = _mm256_fmadd_ps(later ? I8_TOP(32 * (J) - 2) : I8_WIDEN(v, 1), x1, A); \
        A = _mm256_fmadd_ps(later ? I8_TOP(32 * (J) - 1) : I8_WIDEN(v, 2), x2, A); \
        A = _mm256_fmadd_ps(I8_WIDEN(v, 3), x3, A); }

void i8_rows4(const unsigned char *codes, long tiles, long cols, long full, float *buf, long xo, long oo, long ahead) {
    const float *const x = buf + xo;
    float *const out = buf + oo;
    for (long k = 0; k < tiles; k++) {
        const unsigned char *const p = codes + 4 * cols * k;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (long c = 0; c < full; c += 32) {
            const unsigned char *const q = p + 4 * c;
            const int later = (k | c) != 0;
            TILE_GROUP
        }
        out[4 * k] = lanes8(a0);
        out[4 * k + 1] = lanes8(a1);
        out[4 * k + 2] = lanes8(a2);
        out[4 * k + 3] = lanes8(a3);
    }
}
