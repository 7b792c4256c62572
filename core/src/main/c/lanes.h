/*
 * Lane sums shared by the native kernels: LANE_SUMS4(a, b, c, d, o) stores the sums of the 16 lanes of each of four
 * vectors at o[0..3], each added in VectorMath.sum's tree: lane i + lane i+8, then + 4, + 2, + 1 (float addition is
 * commutative, so only the tree fixes the bits). Two vectors share one from the second step on.
 */
#include <immintrin.h>

#define LANE_SUMS4(A0, A1, A2, A3, O) { \
        const __m512 s0 = _mm512_add_ps(A0, _mm512_shuffle_f32x4(A0, A0, 0x4E)); \
        const __m512 s1 = _mm512_add_ps(A1, _mm512_shuffle_f32x4(A1, A1, 0x4E)); \
        const __m512 s2 = _mm512_add_ps(A2, _mm512_shuffle_f32x4(A2, A2, 0x4E)); \
        const __m512 s3 = _mm512_add_ps(A3, _mm512_shuffle_f32x4(A3, A3, 0x4E)); \
        __m512 t01 = _mm512_shuffle_f32x4(s0, s1, 0x44), t23 = _mm512_shuffle_f32x4(s2, s3, 0x44); \
        t01 = _mm512_add_ps(t01, _mm512_shuffle_f32x4(t01, t01, 0xB1)); \
        t23 = _mm512_add_ps(t23, _mm512_shuffle_f32x4(t23, t23, 0xB1)); \
        t01 = _mm512_add_ps(t01, _mm512_permute_ps(t01, 0x4E)); \
        t23 = _mm512_add_ps(t23, _mm512_permute_ps(t23, 0x4E)); \
        t01 = _mm512_add_ps(t01, _mm512_permute_ps(t01, 0xB1)); \
        t23 = _mm512_add_ps(t23, _mm512_permute_ps(t23, 0xB1)); \
        float *const lanes_out_ = (O); /* a name no caller passes in O */ \
        lanes_out_[0] = _mm512_cvtss_f32(t01); \
        lanes_out_[1] = _mm512_cvtss_f32(_mm512_shuffle_f32x4(t01, t01, 0x02)); \
        lanes_out_[2] = _mm512_cvtss_f32(t23); \
        lanes_out_[3] = _mm512_cvtss_f32(_mm512_shuffle_f32x4(t23, t23, 0x02)); }

/* The one-token kernels' prefetch of the 256 bytes AHEAD past Q: into L1 (PREFETCHT0) when AHEAD is positive, into L2
 * (PREFETCHT1) -AHEAD bytes ahead when negative, none when 0 (NativeKernels.rowsAhead says which). */
#define PREFETCH_AHEAD(Q, AHEAD) \
    if ((AHEAD) > 0) { \
        _mm_prefetch((const char *) ((Q) + (AHEAD)), _MM_HINT_T0); \
        _mm_prefetch((const char *) ((Q) + (AHEAD) + 64), _MM_HINT_T0); \
        _mm_prefetch((const char *) ((Q) + (AHEAD) + 128), _MM_HINT_T0); \
        _mm_prefetch((const char *) ((Q) + (AHEAD) + 192), _MM_HINT_T0); \
    } else if ((AHEAD) < 0) { \
        _mm_prefetch((const char *) ((Q) - (AHEAD)), _MM_HINT_T1); \
        _mm_prefetch((const char *) ((Q) - (AHEAD) + 64), _MM_HINT_T1); \
        _mm_prefetch((const char *) ((Q) - (AHEAD) + 128), _MM_HINT_T1); \
        _mm_prefetch((const char *) ((Q) - (AHEAD) + 192), _MM_HINT_T1); \
    }
