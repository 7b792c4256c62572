/*
 * RedHare native kernel: int8 codes (Int8RowMatrix's four-row tiles, see rows4.h for the layout) times several tokens'
 * activations quantized to bytes, in integers: AVX512-VNNI's VPDPBUSD adds four byte products into each 32-bit lane,
 * 64 multiply-adds an instruction. The batched LM head screen (ScreenedHead) reads these sums as its coarse logits;
 * integer sums are exact, so any order gives the same result.
 *
 * Arguments: args = {codes (address), tiles, cols (codes per row), full (columns taken, a multiple of 64), groups (of
 * four tokens; 0 for one token), ahead (bytes to prefetch ahead of the codes into L1; none at 0 for one token), oo
 * (where the sums start in out)}; xq: token t's activations at xq + t * full as unsigned bytes (the signed code plus
 * 128), ordered as the codes are (byte b of 32-bit lane l of group c: column c + 16 b + l); out: row i of tile k, token
 * t at out[oo + (4 k + i) * 4 * groups + t] (one token: out[oo + 4 k + i]), the sum of (code + 128) * weight over the
 * columns (the caller takes off 128 times the row's sum of weights).
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.NativeCode carries.
 */
#include <immintrin.h>

#define DOTS4(I) \
    a##I##0 = _mm512_dpbusd_epi32(a##I##0, x0, w##I); \
    a##I##1 = _mm512_dpbusd_epi32(a##I##1, x1, w##I); \
    a##I##2 = _mm512_dpbusd_epi32(a##I##2, x2, w##I); \
    a##I##3 = _mm512_dpbusd_epi32(a##I##3, x3, w##I);

#define ZERO4(I) __m512i a##I##0 = _mm512_setzero_si512(), a##I##1 = _mm512_setzero_si512(), \
    a##I##2 = _mm512_setzero_si512(), a##I##3 = _mm512_setzero_si512();

/* Four vectors' lane sums, in 128-bit lanes: lane k of the result holds {A, B, C, D}'s sums over their lane k. */
#define QUAD(A, B, C, D, R) { \
        const __m512i ab = _mm512_add_epi32(_mm512_unpacklo_epi32(A, B), _mm512_unpackhi_epi32(A, B)); \
        const __m512i cd = _mm512_add_epi32(_mm512_unpacklo_epi32(C, D), _mm512_unpackhi_epi32(C, D)); \
        R = _mm512_add_epi32(_mm512_unpacklo_epi64(ab, cd), _mm512_unpackhi_epi64(ab, cd)); }

/*
 * The 16 sums of a group, all at once (a transposing tree: 45 instructions where one reduction a sum took about 160):
 * 128-bit lane i of z holds row i's four tokens, stored at o + i * ntok.
 */
#define STORE16 { \
        __m512i u0, u1, u2, u3; \
        QUAD(a00, a01, a02, a03, u0) QUAD(a10, a11, a12, a13, u1) QUAD(a20, a21, a22, a23, u2) QUAD(a30, a31, a32, a33, u3) \
        const __m512i w01 = _mm512_add_epi32(_mm512_shuffle_i32x4(u0, u1, 0x88), _mm512_shuffle_i32x4(u0, u1, 0xDD)); \
        const __m512i w23 = _mm512_add_epi32(_mm512_shuffle_i32x4(u2, u3, 0x88), _mm512_shuffle_i32x4(u2, u3, 0xDD)); \
        const __m512i z = _mm512_add_epi32(_mm512_shuffle_i32x4(w01, w23, 0x88), _mm512_shuffle_i32x4(w01, w23, 0xDD)); \
        _mm_storeu_si128((__m128i *) o, _mm512_castsi512_si128(z)); \
        _mm_storeu_si128((__m128i *) (o + ntok), _mm512_extracti32x4_epi32(z, 1)); \
        _mm_storeu_si128((__m128i *) (o + 2 * ntok), _mm512_extracti32x4_epi32(z, 2)); \
        _mm_storeu_si128((__m128i *) (o + 3 * ntok), _mm512_extracti32x4_epi32(z, 3)); }

__attribute__((target("avx512f,avx512vnni")))
void i8_dots(const long *args, const unsigned char *xq, int *out) {
    const unsigned char *const codes = (const unsigned char *) args[0];
    const long tiles = args[1], cols = args[2], full = args[3], groups = args[4], ahead = args[5];
    out += args[6];
    if (groups == 0) {
        /* One token (a decode step): four products an operation per row, each row's sum over its 16 lanes. Widened to
         * floats (i8_rows4.c) the same codes cost about three times the operations: [128256 x 2048] from DRAM, one
         * thread, read 39-42 GB/s here against 21 (in cache 85-102 against 40), without software prefetches (the
         * hardware's keep up with one stream this light; 4096 bytes ahead into L1 read 34-39). */
        for (long k = 0; k < tiles; k++) {
            const unsigned char *p = codes + 4 * cols * k;
            __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
            for (long c = 0; c < full; c += 64) {
                const unsigned char *q = p + 4 * c;
                if (ahead != 0) {
                    _mm_prefetch((const char *) (q + ahead), _MM_HINT_T0);
                    _mm_prefetch((const char *) (q + ahead + 64), _MM_HINT_T0);
                    _mm_prefetch((const char *) (q + ahead + 128), _MM_HINT_T0);
                    _mm_prefetch((const char *) (q + ahead + 192), _MM_HINT_T0);
                }
                const __m512i x0 = _mm512_loadu_si512((const void *) (xq + c));
                a0 = _mm512_dpbusd_epi32(a0, x0, _mm512_loadu_si512((const void *) q));
                a1 = _mm512_dpbusd_epi32(a1, x0, _mm512_loadu_si512((const void *) (q + 64)));
                a2 = _mm512_dpbusd_epi32(a2, x0, _mm512_loadu_si512((const void *) (q + 128)));
                a3 = _mm512_dpbusd_epi32(a3, x0, _mm512_loadu_si512((const void *) (q + 192)));
            }
            out[4 * k] = _mm512_reduce_add_epi32(a0);
            out[4 * k + 1] = _mm512_reduce_add_epi32(a1);
            out[4 * k + 2] = _mm512_reduce_add_epi32(a2);
            out[4 * k + 3] = _mm512_reduce_add_epi32(a3);
        }
        return;
    }
    const long ntok = 4 * groups;
    for (long k = 0; k < tiles; k++) {
        const unsigned char *p = codes + 4 * cols * k;
        for (long g = 0; g < groups; g++) {
            const unsigned char *x = xq + 4 * g * full;
            ZERO4(0) ZERO4(1) ZERO4(2) ZERO4(3)
            for (long c = 0; c < full; c += 64) {
                const unsigned char *q = p + 4 * c;
                if (g == 0) {
                    _mm_prefetch((const char *) (q + ahead), _MM_HINT_T0);
                    _mm_prefetch((const char *) (q + ahead + 64), _MM_HINT_T0);
                    _mm_prefetch((const char *) (q + ahead + 128), _MM_HINT_T0);
                    _mm_prefetch((const char *) (q + ahead + 192), _MM_HINT_T0);
                }
                const __m512i w0 = _mm512_loadu_si512((const void *) q), w1 = _mm512_loadu_si512((const void *) (q + 64));
                const __m512i w2 = _mm512_loadu_si512((const void *) (q + 128)), w3 = _mm512_loadu_si512((const void *) (q + 192));
                const __m512i x0 = _mm512_loadu_si512((const void *) (x + c)), x1 = _mm512_loadu_si512((const void *) (x + full + c));
                const __m512i x2 = _mm512_loadu_si512((const void *) (x + 2 * full + c));
                const __m512i x3 = _mm512_loadu_si512((const void *) (x + 3 * full + c));
                DOTS4(0) DOTS4(1) DOTS4(2) DOTS4(3)
            }
            int *const o = out + 4 * k * ntok + 4 * g;
            STORE16
        }
    }
}
