/*
 * What the AVX2 kernels share: constants without a data section, a block's prefetch, a 32-row tile's outputs to
 * memory, the integer kernels' arguments and loops, and their products of bytes with or without AVX-VNNI.
 */
#include <immintrin.h>

/* A 32-bit pattern in every lane, through a register: folded, the compiler would load it from a data section. */
static inline __attribute__((always_inline)) __m256i splat32(int bits) {
    __asm__("" : "+r"(bits));
    return _mm256_set1_epi32(bits);
}

/* A += W x (the 8 floats at P), one rounding, the activations read by the FMA itself (the several-token kernels, fp8_decode.c): written out, the compiler would
 * load each activation vector once for the pass's rows and keep it in a register, and with eight or more accumulators
 * the 16 registers overflow onto the stack. */
#define FMA_FROM(A, W, P) __asm__("vfmadd231ps %2, %1, %0" : "+x"(A) : "x"(W), "m"(*(const __m256 *) (P)))

/* The sum of A's eight lanes in VectorMath.sum's tree for 8 lanes: ((a0 + a4) + (a2 + a6)) + ((a1 + a5) + (a3 + a7)) (the
 * float kernels: fp8_decode.c, fp8_tokens.c, i8_rows4.c). */
static inline __attribute__((always_inline)) float lanes8(__m256 a) {
    __m256 s = _mm256_add_ps(a, _mm256_permute2f128_ps(a, a, 0x01));
    s = _mm256_add_ps(s, _mm256_permute_ps(s, 0x4E));
    s = _mm256_add_ps(s, _mm256_permute_ps(s, 0xB1));
    return _mm256_cvtss_f32(s);
}

/* One group of 32 columns of a one-token kernel's four-row tile (fp8_decode.c, i8_rows4.c): the group's 128 bytes at q
 * fetched ahead, the activations of columns c .. c + 31 as x0 .. x3, and the kernel's ROW(A, J) for rows 0 to 3 into
 * a0 .. a3. */
#define TILE_GROUP \
            PREFETCH_BLOCK(q, 128, ahead) \
            const __m256 x0 = _mm256_loadu_ps(x + c), x1 = _mm256_loadu_ps(x + c + 8); \
            const __m256 x2 = _mm256_loadu_ps(x + c + 16), x3 = _mm256_loadu_ps(x + c + 24); \
            ROW(a0, 0) \
            ROW(a1, 1) \
            ROW(a2, 2) \
            ROW(a3, 3)

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

/* The arguments of the integer kernels (q6k_tokens.c, q8i_tokens.c, five_tokens.h, small_tokens.h; ../vnni_tokens.h's). */
#define KERNEL_ARGS \
    const unsigned char *const packed = (const unsigned char *) args[0]; \
    const long nb = args[1], quads = args[2], tiles = args[3], rows = args[4], p0 = args[5], p1 = args[6]; \
    const long t0 = args[7], t1 = args[8], ahead = args[10], nsb = nb >> 3; \
    (void) nsb; \
    (void) d;

/* Their loops: the quads' k-th tiles (p0 + k quads .. p1 + k quads) as four runs in memory order, a token at a time, a
 * tile's blocks in column order, each (BYTES bytes at q, prefetched ahead) added by BODY into the tile's float sums f0
 * .. f3 (rows 0..7, 8..15, 16..23, 24..31) from the token's activations: xi (four columns' bytes an int), xs (each
 * 16-column unit's sum(xq)) and dxt (its block scales); then the sums to y. */
#define TILE_RUNS(BYTES, BODY) \
    for (long k = 0; k < 4; k++) { \
        for (long p = p0; p < p1; p++) { \
            const long tile = p + k * quads; \
            if (k > 0 && tile >= tiles) { \
                break; /* past the last tile: the quad's first again, already done */ \
            } \
            for (long t = t0; t < t1; t++) { \
                const int *const xi = (const int *) (xp + (t - t0) * 18 * nb); \
                const short *const xs = xp + (t - t0) * 18 * nb + 16 * nb; \
                const float *const dxt = xf + t * nb; \
                (void) xs; \
                __m256 f0 = _mm256_setzero_ps(), f1 = f0, f2 = f0, f3 = f0; \
                for (long b = 0; b < nb; b++) { \
                    const unsigned char *const q = packed + (BYTES) * (tile * nb + b); \
                    PREFETCH_BLOCK(q, (BYTES), ahead) \
                    BODY \
                } \
                STORE32(y + t * rows + 32 * tile, rows - 32 * tile, f0, f1, f2, f3) \
            } \
        } \
    }

/* The BYTES bytes of a block at Q, fetched AHEAD bytes ahead: into L1 (PREFETCHT0) where AHEAD is positive, into L2
 * (PREFETCHT1) -AHEAD bytes ahead where negative, none at 0. */
#define PREFETCH_BLOCK(Q, BYTES, AHEAD) { \
        if ((AHEAD) > 0) { \
            for (long o_ = 0; o_ < (BYTES); o_ += 64) _mm_prefetch((const char *) ((Q) + (AHEAD) + o_), _MM_HINT_T0); \
        } else if ((AHEAD) < 0) { \
            for (long o_ = 0; o_ < (BYTES); o_ += 64) _mm_prefetch((const char *) ((Q) - (AHEAD) + o_), _MM_HINT_T1); \
        } }

/* Products of four columns, unsigned bytes V by signed bytes X, added into the 32-bit lanes of A. Built for AVX-VNNI
 * (../avxvnni: Intel client cores since Alder Lake and E-core Xeons, which have no AVX-512), one VPDPBUSD a step, never
 * saturating; otherwise VPMADDUBSW (pairs into 16 bits) and VPMADDWD by ones, several steps' 16-bit sums added before it where the
 * caller knows they stay below 2^15 (DOTS2, DOTS4). Either way the same integers. ACC16 and WIDEN16 let a caller keep
 * such sums over several steps: in 16 bits, widened once, or (AVX-VNNI) in 32 bits all along. */
#ifdef __AVXVNNI__
#define DOTS1(A, V, X) A = _mm256_dpbusd_avx_epi32(A, V, X)
#define DOTS2(A, V0, X0, V1, X1) A = _mm256_dpbusd_avx_epi32(_mm256_dpbusd_avx_epi32(A, V0, X0), V1, X1)
#define DOTS4(A, V0, X0, V1, X1, V2, X2, V3, X3) \
        A = _mm256_dpbusd_avx_epi32(_mm256_dpbusd_avx_epi32(_mm256_dpbusd_avx_epi32(_mm256_dpbusd_avx_epi32(A, V0, X0), V1, X1), V2, X2), V3, X3)
#define ACC16(S, V, X) S = _mm256_dpbusd_avx_epi32(S, V, X)
#define WIDEN16(S) (S)
#else
#define DOTS1(A, V, X) A = _mm256_add_epi32(A, _mm256_madd_epi16(_mm256_maddubs_epi16(V, X), ones))
#define DOTS2(A, V0, X0, V1, X1) A = _mm256_add_epi32(A, _mm256_madd_epi16(_mm256_add_epi16(_mm256_maddubs_epi16(V0, X0), \
        _mm256_maddubs_epi16(V1, X1)), ones))
#define DOTS4(A, V0, X0, V1, X1, V2, X2, V3, X3) A = _mm256_add_epi32(A, _mm256_madd_epi16(_mm256_add_epi16( \
        _mm256_add_epi16(_mm256_maddubs_epi16(V0, X0), _mm256_maddubs_epi16(V1, X1)), \
        _mm256_add_epi16(_mm256_maddubs_epi16(V2, X2), _mm256_maddubs_epi16(V3, X3))), ones))
#define ACC16(S, V, X) S = _mm256_add_epi16(S, _mm256_maddubs_epi16(V, X))
#define WIDEN16(S) _mm256_madd_epi16(S, ones)
#endif
