/*
 * Shared by the attention kernels: 16 consecutive entries of a KV cache from p as floats, exactly: F32 as they are,
 * BF16 widened by a shift, F16 by VCVTPH2PS (subnormals included), Q8's codes by VPMOVSXBD and VCVTDQ2PS (unscaled:
 * Attention applies the scales a key at a time). dt: 0 F32, 1 BF16, 2 F16, 3 Q8.
 */
#include <immintrin.h>

#define AI static inline __attribute__((always_inline))

/* Bytes an entry of dtype dt. */
#define ENTRY_BYTES(dt) ((dt) == 0 ? 4 : (dt) == 3 ? 1 : 2)

AI __m512 cache16(const char *p, const int dt) {
    if (dt == 0) {
        return _mm512_loadu_ps((const void *) p);
    }
    if (dt == 3) {
        return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *) p)));
    }
    const __m256i h = _mm256_loadu_si256((const __m256i *) p);
    if (dt == 1) {
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    return _mm512_cvtph_ps(h);
}
