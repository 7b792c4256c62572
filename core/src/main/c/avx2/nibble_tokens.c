/*
 * RedHare native kernel for AVX2 CPUs (no AVX-512: AMD Zen 2 and Zen 3, Intel cores before Ice Lake and client cores
 * since Alder Lake): nibble_tokens.c of the parent directory at 256 bits, for NibbleBlocks' tiles of 16 rows (the
 * layout the JVM's 8-float vectors give it). 4-bit weights (a value q in 0..15 a weight) times a few tokens'
 * activations quantized to int8 per 32-column block, as NibbleBlocks.tiles4x1 computes them, with the same bits. Four
 * forms: Q4_0 (form 0: W = (q - 8) s), float offsets (form 1, Q4_1: W = q s + o), Q4_K's factored scales (form 2: s =
 * dsup sc, o = msup m, multiplied out here) and Q5_0's 5-bit values a byte each (form 3: W = (u - 16) s, summed and
 * folded every 16 columns). Each block's sum S = sum(q xq) is an integer, exact in any order and kept modulo 2^16 as the
 * Java kernel keeps it (T = S - center sum(xq) read as a signed 16-bit value is exact, NibbleBlocks.BLOCK_SUMS); each
 * row adds fma(T, s dx, acc) and, with offsets, fma(sum(xq), (8 s + o) dx, acc) over its blocks in column order from
 * zero. Rows sit in lanes, so no lane sums: the per-row arithmetic is the same at any vector width.
 *
 * VPMADDUBSW multiplies unsigned bytes (the nibbles, spread a byte each by an AND, or a shift and an AND) by signed
 * bytes (two columns' activations, broadcast as one 16-bit pair) and adds each pair into 16 bits (at most 2 * 15 * 127,
 * no saturation), as llama.cpp's AVX2 kernels multiply 4-bit weights; the Java kernel multiplies 16-bit lanes, a column
 * at a time.
 *
 * Layout (NibbleBlocks, TR = 16): tile t's block b at packed + (t nb + b) 256; step s of a block (columns 4s .. 4s+3)
 * 32 bytes, the 16-bit lane of row i (i < 8) at 2 (2 i), of row 8 + i at 2 (2 i + 1), column 4s + j at bits 4j. Bytes
 * (form 3): tile t's span k (16 columns) at packed + (t 2 nb + k) 256, step s (columns 2s, 2s + 1 of the span) 32
 * bytes, a row's lane holding column 2s in its low byte and 2s + 1 in its high byte. Forms 0 and 1: scales d[(t nb + b)
 * 16 + i] for row 16 t + i, offsets o[the same]; form 2: dsup (in d) and msup (in o) at [(t nsb + b / 8) 16 + i], nsb =
 * nb / 8, and the codes of block b as 8 ints at codes + (t nb + b) 8, int lane i = sc(row i) | sc(row 8 + i) << 8 |
 * m(row i) << 16 | m(row 8 + i) << 24.
 *
 * Arguments as nibble_tokens.c's: args = {packed (address), nb, quads (the matrix's (tiles + 3) / 4), tiles, rows, p0,
 * p1 (the quads to take), t0, t1 (the tokens), n (tokens in all), ahead (bytes to prefetch ahead into L2; 0: none),
 * form}; a quad p is tiles p, p + quads, p + 2 quads, p + 3 quads (one past the last tile: p again). xp: token t's
 * activations at xp + (t - t0) * 16 nb shorts, for each step k the pairs (xq[4k] & 255 | xq[4k + 2] << 8) and (xq[4k +
 * 1] & 255 | xq[4k + 3] << 8), for bytes (xq[2k] & 255 | xq[2k + 1] << 8); xf: token t's block scales dx at xf[t nb +
 * b], its center times sum(xq) of each block (bytes: each span) at xf[n nb + t nb + b] (bytes: xf[n nb + t 2 nb + k]);
 * y: token t's output for row r at y[t rows + r].
 *
 * Built by scripts/native/build-kernels.sh (AVX2 and FMA only: no AVX-512 instruction may reach these bytes) into the
 * bytes org.redhare.core.matrix.Avx2Code carries.
 */
#include "avx2.h"

/* Step S of tile I's block: its 16-bit sums S##I take the step's four columns (x02: columns 0 and 2, x13: 1 and 3). */
#define NIBBLES(I, S) { \
        const __m256i v = _mm256_loadu_si256((const __m256i *) (q##I + 32 * (S))); \
        s##I = _mm256_add_epi16(s##I, _mm256_maddubs_epi16(_mm256_and_si256(v, low), x02)); \
        s##I = _mm256_add_epi16(s##I, _mm256_maddubs_epi16(_mm256_and_si256(_mm256_srli_epi16(v, 4), low), x13)); }

/* Step S of tile I's span (Q5_0's bytes): two columns a 16-bit lane, multiplied by their activations (x01) and added. */
#define BYTES(I, S) \
        s##I = _mm256_add_epi16(s##I, _mm256_maddubs_epi16(_mm256_loadu_si256((const __m256i *) (q##I + 32 * (S))), x01));

/* Tile I's block folded into its two float accumulators (rows 0..7, 8..15): T s dx, and with offsets (forms 1 and 2)
 * sum(xq) (8 s + o) dx, in that order and in the Java kernel's roundings. */
#define FOLD(I) { \
        __m256 s0, s1, o0 = _mm256_setzero_ps(), o1 = o0; \
        if (form == 2) { /* factored (Q4_K): s = dsup sc, o = msup m, both exact */ \
            const __m256i g = _mm256_loadu_si256((const __m256i *) (codes + 8 * (t##I * nb + b))); \
            const float *const ds = d + 16 * (t##I * nsb + (b >> 3)), *const ms = o + 16 * (t##I * nsb + (b >> 3)); \
            s0 = _mm256_mul_ps(_mm256_loadu_ps(ds), _mm256_cvtepi32_ps(_mm256_and_si256(g, byte))); \
            s1 = _mm256_mul_ps(_mm256_loadu_ps(ds + 8), _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(g, 8), byte))); \
            o0 = _mm256_mul_ps(_mm256_loadu_ps(ms), _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(g, 16), byte))); \
            o1 = _mm256_mul_ps(_mm256_loadu_ps(ms + 8), _mm256_cvtepi32_ps(_mm256_srli_epi32(g, 24))); \
        } else { \
            s0 = _mm256_loadu_ps(d + 16 * (t##I * nb + b)); \
            s1 = _mm256_loadu_ps(d + 16 * (t##I * nb + b) + 8); \
            if (form == 1) { \
                o0 = _mm256_loadu_ps(o + 16 * (t##I * nb + b)); \
                o1 = _mm256_loadu_ps(o + 16 * (t##I * nb + b) + 8); \
            } \
        } \
        const __m256i tv = _mm256_sub_epi16(s##I, sx); \
        const __m256 lo = _mm256_cvtepi32_ps(_mm256_srai_epi32(_mm256_slli_epi32(tv, 16), 16)); \
        const __m256 hi = _mm256_cvtepi32_ps(_mm256_srai_epi32(tv, 16)); \
        f##I##0 = _mm256_fmadd_ps(lo, _mm256_mul_ps(s0, dx), f##I##0); \
        f##I##1 = _mm256_fmadd_ps(hi, _mm256_mul_ps(s1, dx), f##I##1); \
        if (form == 1 || form == 2) { \
            f##I##0 = _mm256_fmadd_ps(sq, _mm256_mul_ps(_mm256_add_ps(_mm256_mul_ps(s0, eight), o0), dx), f##I##0); \
            f##I##1 = _mm256_fmadd_ps(sq, _mm256_mul_ps(_mm256_add_ps(_mm256_mul_ps(s1, eight), o1), dx), f##I##1); \
        } }

/* Tile T's 16 outputs (F0: rows 0..7, F1: 8..15) to y, clipped to the matrix's rows (a tail through the stack: a
 * masked store would need a constant vector, which the compiler keeps in a data section). */
#define STORE(T, F0, F1) { \
        const long left = rows - 16 * (T); \
        float *const out = yt + 16 * (T); \
        if (left >= 16) { \
            _mm256_storeu_ps(out, F0); \
            _mm256_storeu_ps(out + 8, F1); \
        } else { \
            float tail[16]; \
            _mm256_storeu_ps(tail, F0); \
            _mm256_storeu_ps(tail + 8, F1); \
            for (long i = 0; i < left; i++) out[i] = tail[i]; \
        } }

void nibble_tokens(const long *args, const short *xp, const float *xf, const float *d, const float *o, const int *codes, float *y) {
    const unsigned char *const packed = (const unsigned char *) args[0];
    const long nb = args[1], quads = args[2], tiles = args[3], rows = args[4], p0 = args[5], p1 = args[6];
    const long t0 = args[7], t1 = args[8], n = args[9], ahead = args[10], form = args[11], nsb = nb >> 3;
    const long units = form == 3 ? 2 * nb : nb; /* 256-byte runs of a tile's row: a block of 32 columns, or a span of 16 */
    const __m256i low = splat32(0x0F0F0F0F), byte = splat32(0xFF);
    const __m256 eight = _mm256_castsi256_ps(splat32(0x41000000)); /* 8.0f */
    for (long p = p0; p < p1; p++) {
        const long ta = p, tb = p + quads < tiles ? p + quads : p;
        const long tc = p + 2 * quads < tiles ? p + 2 * quads : p, td = p + 3 * quads < tiles ? p + 3 * quads : p;
        for (long t = t0; t < t1; t++) {
            const short *const xt = xp + (t - t0) * 16 * nb;
            const float *const dxt = xf + t * nb, *const sxt = xf + n * nb + t * units;
            float *const yt = y + t * rows;
            __m256 fa0 = _mm256_setzero_ps(), fa1 = fa0, fb0 = fa0, fb1 = fa0, fc0 = fa0, fc1 = fa0, fd0 = fa0, fd1 = fa0;
            for (long u = 0; u < units; u++) {
                const long b = form == 3 ? u >> 1 : u; /* the unit's block of 32 columns (its scale) */
                const unsigned char *const qa = packed + 256 * (ta * units + u), *const qb = packed + 256 * (tb * units + u);
                const unsigned char *const qc = packed + 256 * (tc * units + u), *const qd = packed + 256 * (td * units + u);
                if (ahead != 0) {
                    for (long k = 0; k < 256; k += 64) {
                        _mm_prefetch((const char *) (qa + ahead + k), _MM_HINT_T1);
                        _mm_prefetch((const char *) (qb + ahead + k), _MM_HINT_T1);
                        _mm_prefetch((const char *) (qc + ahead + k), _MM_HINT_T1);
                        _mm_prefetch((const char *) (qd + ahead + k), _MM_HINT_T1);
                    }
                }
                __m256i sa = _mm256_setzero_si256(), sb = sa, sc = sa, sd = sa;
                if (form == 3) {
                    for (long s = 0; s < 8; s++) {
                        const __m256i x01 = _mm256_set1_epi16(xt[8 * u + s]);
                        BYTES(a, s)
                        BYTES(b, s)
                        BYTES(c, s)
                        BYTES(d, s)
                    }
                } else {
                    for (long s = 0; s < 8; s++) {
                        const __m256i x02 = _mm256_set1_epi16(xt[16 * u + 2 * s]), x13 = _mm256_set1_epi16(xt[16 * u + 2 * s + 1]);
                        NIBBLES(a, s)
                        NIBBLES(b, s)
                        NIBBLES(c, s)
                        NIBBLES(d, s)
                    }
                }
                const __m256i sx = _mm256_set1_epi16((short) (int) sxt[u]);
                const __m256 dx = _mm256_set1_ps(dxt[b]);
                const __m256 sq = _mm256_set1_ps((float) ((int) sxt[u] / 8)); /* sum(xq), as the Java kernel's sx * 0.125f */
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
