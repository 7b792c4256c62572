/*
 * Shared by the attention kernels: 16 consecutive entries of a KV cache from p as floats, exactly: F32 as they are,
 * BF16 widened by a shift, F16 by VCVTPH2PS (subnormals included). dt: 0 F32, 1 BF16, 2 F16.
 */
#include <immintrin.h>

#define AI static inline __attribute__((always_inline))

AI __m512 cache16(const char *p, const int dt) {
    if (dt == 0) {
        return _mm512_loadu_ps((const void *) p);
    }
    const __m256i h = _mm256_loadu_si256((const __m256i *) p);
    if (dt == 1) {
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    return _mm512_cvtph_ps(h);
}
