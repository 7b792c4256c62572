/*
 * RedHare native kernel: Q4_0 weights (NibbleBlocks' tiles of 32 rows, a 4-bit value a weight, W = (q - 8) s with a
 * float scale s per row and 32-column block) times a few tokens' activations quantized to int8 per 32-column block, as
 * NibbleBlocks.tiles4x1 computes them, with the same bits: each block's sum S = sum(q xq) is an integer (exact in any
 * order; kept modulo 2^16 as the Java kernel keeps it, so T = S - 8 sum(xq) read as a signed 16-bit value is exact, see
 * NibbleBlocks.BLOCK_SUMS), widened to float, and each row adds fma(T, s * dx, acc) over its blocks in column order from
 * zero, its 32 rows a tile in two float vectors (no lane sums).
 *
 * Where the Java kernel multiplies 16-bit lanes (a weight times the column's activation copied into every lane, four
 * shifts, ANDs, multiplies and adds a step), this one takes two columns a 16-bit lane at once: AVX-512BW's VPMADDUBSW
 * multiplies unsigned bytes (the nibbles, spread a byte each by one AND, or a shift and an AND) by signed bytes (two
 * columns' activations, broadcast as one 16-bit pair) and adds each pair into 16 bits (at most 2 * 15 * 127, no
 * saturation): two of them and two adds a step instead of four multiplies, four adds and seven shifts and ANDs.
 *
 * Layout (NibbleBlocks): tile t's block b at packed + (t nb + b) 512; step s of a block (columns 4s .. 4s+3 of the
 * block) 64 bytes, the 16-bit lane of row i (i < 16) at 2 (2 i), of row 16 + i at 2 (2 i + 1), column 4s + j at bits
 * 4j. Scales d[(t nb + b) 32 + i] for row 32 t + i.
 *
 * Arguments: args = {packed (address), nb (blocks a row), quads (the matrix's (tiles + 3) / 4), tiles, rows, p0, p1 (the
 * quads to take), t0, t1 (the tokens), n (tokens in all), ahead (bytes to prefetch ahead into L2; 0: none)}. A quad p
 * is tiles p, p + quads, p + 2 quads, p + 3 quads (one past the last tile: p again), four streams far apart, as the
 * Java kernel takes them. xp: token t's activations at xp + (t - t0) * 16 nb shorts, for each step k of the row the
 * pairs (xq[4k] & 255 | xq[4k + 2] << 8) and (xq[4k + 1] & 255 | xq[4k + 3] << 8); xf: token t's block scales dx at
 * xf[t nb + b], its 8 sum(xq) (floats holding integers) at xf[n nb + t nb + b]; y: token t's output for row r at
 * y[t rows + r].
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.NativeCode carries.
 */
#pragma GCC target("avx512bw")
#include <immintrin.h>

/* Step S of tile I's block: its 16-bit sums S##I take the step's four columns (x02: columns 0 and 2, x13: 1 and 3). */
#define NIBBLES(I, S) { \
        const __m512i v = _mm512_loadu_si512((const void *) (q##I + 64 * (S))); \
        s##I = _mm512_add_epi16(s##I, _mm512_maddubs_epi16(_mm512_and_si512(v, low), x02)); \
        s##I = _mm512_add_epi16(s##I, _mm512_maddubs_epi16(_mm512_and_si512(_mm512_srli_epi16(v, 4), low), x13)); }

/* Tile I's block folded into its two float accumulators (rows 0..15, 16..31), d##I its scales. */
#define FOLD(I) { \
        const __m512i t = _mm512_sub_epi16(s##I, sx); \
        const __m512 lo = _mm512_cvtepi32_ps(_mm512_srai_epi32(_mm512_slli_epi32(t, 16), 16)); \
        const __m512 hi = _mm512_cvtepi32_ps(_mm512_srai_epi32(t, 16)); \
        f##I##0 = _mm512_fmadd_ps(lo, _mm512_mul_ps(_mm512_loadu_ps(d##I + 32 * b), dx), f##I##0); \
        f##I##1 = _mm512_fmadd_ps(hi, _mm512_mul_ps(_mm512_loadu_ps(d##I + 32 * b + 16), dx), f##I##1); }

/* Tile T's 32 outputs (F0: rows 0..15, F1: 16..31) to y, clipped to the matrix's rows. */
#define STORE(T, F0, F1) { \
        const long left = rows - 32 * (T); \
        float *const o = yt + 32 * (T); \
        if (left >= 32) { \
            _mm512_storeu_ps(o, F0); \
            _mm512_storeu_ps(o + 16, F1); \
        } else if (left > 16) { \
            _mm512_storeu_ps(o, F0); \
            _mm512_mask_storeu_ps(o + 16, (__mmask16) ((1 << (left - 16)) - 1), F1); \
        } else { \
            _mm512_mask_storeu_ps(o, (__mmask16) ((1 << left) - 1), F0); \
        } }

void nibble_tokens(const long *args, const short *xp, const float *xf, const float *d, float *y) {
    const unsigned char *const packed = (const unsigned char *) args[0];
    const long nb = args[1], quads = args[2], tiles = args[3], rows = args[4], p0 = args[5], p1 = args[6];
    const long t0 = args[7], t1 = args[8], n = args[9], ahead = args[10];
    const __m512i low = _mm512_set1_epi8(0x0F);
    for (long p = p0; p < p1; p++) {
        const long ta = p, tb = p + quads < tiles ? p + quads : p;
        const long tc = p + 2 * quads < tiles ? p + 2 * quads : p, td = p + 3 * quads < tiles ? p + 3 * quads : p;
        const float *const da = d + 32 * nb * ta, *const db = d + 32 * nb * tb, *const dc = d + 32 * nb * tc, *const dd = d + 32 * nb * td;
        for (long t = t0; t < t1; t++) {
            const short *const xt = xp + (t - t0) * 16 * nb;
            const float *const dxt = xf + t * nb, *const sxt = xf + n * nb + t * nb;
            float *const yt = y + t * rows;
            __m512 fa0 = _mm512_setzero_ps(), fa1 = fa0, fb0 = fa0, fb1 = fa0, fc0 = fa0, fc1 = fa0, fd0 = fa0, fd1 = fa0;
            for (long b = 0; b < nb; b++) {
                const unsigned char *const qa = packed + 512 * (ta * nb + b), *const qb = packed + 512 * (tb * nb + b);
                const unsigned char *const qc = packed + 512 * (tc * nb + b), *const qd = packed + 512 * (td * nb + b);
                if (ahead != 0) {
                    for (long k = 0; k < 512; k += 64) {
                        _mm_prefetch((const char *) (qa + ahead + k), _MM_HINT_T1);
                        _mm_prefetch((const char *) (qb + ahead + k), _MM_HINT_T1);
                        _mm_prefetch((const char *) (qc + ahead + k), _MM_HINT_T1);
                        _mm_prefetch((const char *) (qd + ahead + k), _MM_HINT_T1);
                    }
                }
                __m512i sa = _mm512_setzero_si512(), sb = sa, sc = sa, sd = sa;
                for (long s = 0; s < 8; s++) {
                    const __m512i x02 = _mm512_set1_epi16(xt[16 * b + 2 * s]), x13 = _mm512_set1_epi16(xt[16 * b + 2 * s + 1]);
                    NIBBLES(a, s)
                    NIBBLES(b, s)
                    NIBBLES(c, s)
                    NIBBLES(d, s)
                }
                const __m512i sx = _mm512_set1_epi16((short) (int) sxt[b]);
                const __m512 dx = _mm512_set1_ps(dxt[b]);
                FOLD(a)
                FOLD(b)
                FOLD(c)
                FOLD(d)
            }
            STORE(ta, fa0, fa1)
            STORE(tb, fb0, fb1)
            STORE(tc, fc0, fc1)
            STORE(td, fd0, fd1)
        }
    }
}
