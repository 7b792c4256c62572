/*
 * What the AVX2 kernels share (nibble_tokens.c, q6k_tokens.c, q8i_tokens.c): constants without a data section, a
 * block's prefetch, and a 32-row tile's outputs to memory.
 */
#include <immintrin.h>

/* A 32-bit pattern in every lane, through a register: folded, the compiler would load it from a data section. */
static inline __attribute__((always_inline)) __m256i splat32(int bits) {
    __asm__("" : "+r"(bits));
    return _mm256_set1_epi32(bits);
}

/* A tile's 32 outputs (F0: rows 0..7, F1: 8..15, F2: 16..23, F3: 24..31) to OUT, the first LEFT of them where fewer
 * than 32 rows are left (a tail through the stack: a masked store would need a constant vector from a data section). */
#define STORE32(OUT, LEFT, F0, F1, F2, F3) { \
        if ((LEFT) >= 32) { \
            _mm256_storeu_ps((OUT), F0); \
            _mm256_storeu_ps((OUT) + 8, F1); \
            _mm256_storeu_ps((OUT) + 16, F2); \
            _mm256_storeu_ps((OUT) + 24, F3); \
        } else { \
            float tail_[32]; \
            _mm256_storeu_ps(tail_, F0); \
            _mm256_storeu_ps(tail_ + 8, F1); \
            _mm256_storeu_ps(tail_ + 16, F2); \
            _mm256_storeu_ps(tail_ + 24, F3); \
            for (long i_ = 0; i_ < (LEFT); i_++) (OUT)[i_] = tail_[i_]; \
        } }

/* The BYTES bytes of a block at Q, fetched AHEAD bytes ahead: into L1 (PREFETCHT0) where AHEAD is positive, into L2
 * (PREFETCHT1) -AHEAD bytes ahead where negative, none at 0. */
#define PREFETCH_BLOCK(Q, BYTES, AHEAD) { \
        if ((AHEAD) > 0) { \
            for (long o_ = 0; o_ < (BYTES); o_ += 64) _mm_prefetch((const char *) ((Q) + (AHEAD) + o_), _MM_HINT_T0); \
        } else if ((AHEAD) < 0) { \
            for (long o_ = 0; o_ < (BYTES); o_ += 64) _mm_prefetch((const char *) ((Q) - (AHEAD) + o_), _MM_HINT_T1); \
        } }
