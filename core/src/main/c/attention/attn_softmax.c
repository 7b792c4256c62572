/*
 * RedHare native kernel: the softmax of each head's attention scores in place (Ops.softmax: the largest score, then
 * exp(score - largest) written back and summed, then each times 1 / sum), with VectorMath.exp's operations in its order
 * (a range reduction by ln 2 split in two, a degree-7 polynomial by FMAs, the power of two in two halves) and
 * VectorMath.sum's tree over the 16 lanes, the last partial vector's exponentials added one by one as Java's scalar
 * tail does: the same bits as the Java softmax for finite scores.
 *
 * Why native: after the scores and values went native, the softmax's three Java passes were about a sixth of
 * attention's time (docs/PERFORMANCE.md, sixtieth session).
 *
 * Arguments: args = {group (heads), stride (head h's scores at buf[h stride ..]), from, to (the scores from .. to of
 * each head)}; k: VectorMath.expConstants() (MIN_ARG, MAX_ARG, LOG2E, ROUND, -LN2_HI, -LN2_LO, C2 .. C7, 1, -infinity, infinity: a kernel
 * has no data section, so its float constants come from Java); buf as said.
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.attention.AttentionCode carries.
 */
#include <immintrin.h>

#define AI static inline __attribute__((always_inline))

/* VectorMath.exp(v) lane by lane; k as above. */
AI __m512 exp16(const __m512 v, const float *k) {
    const __m512 lo = _mm512_set1_ps(k[0]), hi = _mm512_set1_ps(k[1]), round = _mm512_set1_ps(k[3]);
    const __mmask16 under = _mm512_cmp_ps_mask(v, lo, _CMP_LT_OQ), over = _mm512_cmp_ps_mask(v, hi, _CMP_GT_OQ);
    const __m512 c = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
    const __m512 t = _mm512_fmadd_ps(c, _mm512_set1_ps(k[2]), round);
    const __m512 n = _mm512_sub_ps(t, round);
    __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(k[4]), c);
    r = _mm512_fmadd_ps(n, _mm512_set1_ps(k[5]), r);
    __m512 p = _mm512_fmadd_ps(r, _mm512_set1_ps(k[11]), _mm512_set1_ps(k[10]));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(k[9]));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(k[8]));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(k[7]));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(k[6]));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(k[12]));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(k[12]));
    const __m512i ni = _mm512_sub_epi32(_mm512_castps_si512(t), _mm512_castps_si512(round));
    const __m512i half = _mm512_srai_epi32(ni, 1);
    const __m512i bias = _mm512_set1_epi32(127);
    const __m512 s1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(half, bias), 23));
    const __m512 s2 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_sub_epi32(ni, half), bias), 23));
    const __m512 e = _mm512_mul_ps(_mm512_mul_ps(p, s1), s2);
    return _mm512_mask_blend_ps(over, _mm512_mask_blend_ps(under, e, _mm512_setzero_ps()),
            _mm512_set1_ps(k[14]));
}

/* VectorMath.sum's tree: lane i + lane i+8, then + 4, + 2, + 1; lane 0. */
AI float tree(__m512 v) {
    v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0x4E));
    v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, 0xB1));
    v = _mm512_add_ps(v, _mm512_permute_ps(v, 0x4E));
    v = _mm512_add_ps(v, _mm512_permute_ps(v, 0xB1));
    return _mm512_cvtss_f32(v);
}

void attn_softmax(const long *args, const float *k, float *buf) {
    const long group = args[0], stride = args[1], from = args[2], to = args[3], len = to - from;
    for (long h = 0; h < group; h++) {
        float *const x = buf + h * stride + from;
        const long full = len / 16 * 16;
        const __mmask16 tail = (__mmask16) ((1u << (len - full)) - 1);
        /* The largest score (exact in any order). */
        float m = k[13];
        if (full > 0) {
            __m512 mv = _mm512_set1_ps(k[13]);
            for (long i = 0; i < full; i += 16) {
                mv = _mm512_max_ps(mv, _mm512_loadu_ps(x + i));
            }
            m = _mm512_reduce_max_ps(mv);
        }
        for (long i = full; i < len; i++) {
            m = x[i] > m ? x[i] : m;
        }
        /* exp(x - m) written back; the whole vectors summed in lanes, then the tree, then the rest one by one. */
        const __m512 mv = _mm512_set1_ps(m);
        __m512 acc = _mm512_setzero_ps();
        for (long i = 0; i < full; i += 16) {
            const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), mv), k);
            _mm512_storeu_ps(x + i, e);
            acc = _mm512_add_ps(acc, e);
        }
        float sum = tree(acc);
        if (tail) {
            const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + full), mv), k);
            _mm512_mask_storeu_ps(x + full, tail, e);
            float lanes[16];
            _mm512_storeu_ps(lanes, e);
            for (long l = 0; l < len - full; l++) {
                sum += lanes[l];
            }
        }
        /* Each times 1 / sum. */
        const __m512 inv = _mm512_set1_ps(k[12] / sum);
        for (long i = 0; i < full; i += 16) {
            _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), inv));
        }
        if (tail) {
            _mm512_mask_storeu_ps(x + full, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, x + full), inv));
        }
    }
}
