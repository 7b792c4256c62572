/*
 * RedHare native kernel: attention's weighted sum of values for one query token's heads of one KV group
 * (Attention.values): out_h = sum over keys j, in key order, of p_h[j] * v_j, one FMA a key into each output element,
 * starting from zero: Attention's arithmetic, so the same bits, whatever the tile.
 *
 * Value rows are stored a key at a time ([slot][vWidth], PagedKvCache). The keys go in runs small enough that a run's
 * rows stay in L1 while every tile of the group reads them: a tile is up to eight heads times 32 dims (16
 * accumulators: each value vector loaded and widened serves every head of the tile, each probability broadcast once for
 * the tile's two vectors), carried from run to run through out. The first tile of a run asks for the rows of the
 * blocks ahead.
 *
 * Arguments: args = {values (address of the layer's values), dtype (0 F32, 1 BF16, 2 F16, 3 Q8's codes), rowBytes (bytes a storage
 * row), colBytes (bytes from a row's start to the group's first dim), bs (keys a block), ctx (keys), vhd (dims a head,
 * a multiple of 32), group (heads), oo (head h's outputs at out[oo + h vhd]), stride (head h's probabilities at
 * buf[h stride + j]), run (keys a run), ahead (blocks to prefetch ahead: into L1 when positive, into L2 (-ahead
 * blocks) when negative, none when 0), scales (a Q8 cache's value scales: the address of the layer's, or 0 for none),
 * scaleBlockBytes (bytes of scales a block), scaleAdd (bytes from a block's scales to the group's)}; table: the
 * sequence's block table; buf, out as said. With scales, each probability is first times its value's scale, as
 * Attention.scaleByKeys takes it.
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.attention.AttentionCode carries.
 */
#include "cache16.h"

/*
 * Heads h0 .. h0 + NH, dims c .. c + 32, keys from .. to: outputs from out (zeros when first), back into out. A BF16
 * row's 32 dims come in one 64-byte load, widened in two operations rather than four: the even dims (low halves shifted
 * up) into one accumulator, the odd ones (high halves masked) into the other; out holds them so between runs and in
 * dim order after the last.
 */
AI void tile(const int NH, const int dt, const char *values, const int *table, const long rowBytes, const long colBytes,
        const long bs, const long from, const long to, const long vhd, const float *p, const long stride, float *o,
        const int first, const long ahead, const long ctx, const char *scales, const long sbb, const long sadd) {
    const long es = ENTRY_BYTES(dt);
    __m512 a[8][2];
#pragma GCC unroll 8
    for (int h = 0; h < NH; h++) {
        a[h][0] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(o + h * vhd);
        a[h][1] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(o + h * vhd + 16);
    }
    for (long j0 = from; j0 < to; ) { /* a block's run of rows at a time */
        const long n = bs - j0 % bs < to - j0 ? bs - j0 % bs : to - j0;
        const char *row = values + (table[j0 / bs] * bs + j0 % bs) * rowBytes + colBytes;
        const long ab = ahead > 0 ? ahead : -ahead;
        if (ab > 0 && (j0 / bs + ab) * bs < ctx) { /* on the first dims chunk: values is the rows' start */
            const char *r = values + table[j0 / bs + ab] * bs * rowBytes + colBytes;
            for (long s = 0; s < bs; s++, r += rowBytes) {
                for (long b = 0; b < vhd * es; b += 64) {
                    if (ahead > 0) _mm_prefetch(r + b, _MM_HINT_T0); else _mm_prefetch(r + b, _MM_HINT_T1);
                }
            }
            if (dt == 3) {
                const char *ps = scales + table[j0 / bs + ab] * sbb + sadd;
                for (long b = 0; b < bs * 4; b += 64) {
                    if (ahead > 0) _mm_prefetch(ps + b, _MM_HINT_T0); else _mm_prefetch(ps + b, _MM_HINT_T1);
                }
            }
        }
        const float *vs = dt == 3 ? (const float *) (scales + table[j0 / bs] * sbb + sadd) + j0 % bs : 0;
        for (long s = 0; s < n; s++, row += rowBytes) {
            const long j = j0 + s;
            __m512 v0, v1;
            if (dt == 1) { /* BF16: one load, even dims by a shift, odd dims by an AND */
                const __m512i w = _mm512_loadu_si512((const void *) row);
                v0 = _mm512_castsi512_ps(_mm512_slli_epi32(w, 16));
                v1 = _mm512_castsi512_ps(_mm512_and_si512(w, _mm512_set1_epi32((int) 0xFFFF0000)));
            } else {
                v0 = cache16(row, dt);
                v1 = cache16(row + 16 * es, dt);
            }
#pragma GCC unroll 8
            for (int h = 0; h < NH; h++) {
                const __m512 x = _mm512_set1_ps(dt == 3 ? p[h * stride + j] * vs[s] : p[h * stride + j]);
                a[h][0] = _mm512_fmadd_ps(v0, x, a[h][0]);
                a[h][1] = _mm512_fmadd_ps(v1, x, a[h][1]);
            }
        }
        j0 += n;
    }
#pragma GCC unroll 8
    for (int h = 0; h < NH; h++) {
        if (dt == 1 && to == ctx) { /* BF16's even and odd dims back in order, the last run */
            const __m512 lo = _mm512_unpacklo_ps(a[h][0], a[h][1]); /* dims 8i .. 8i + 3 in 128-bit lane i */
            const __m512 hi = _mm512_unpackhi_ps(a[h][0], a[h][1]); /* dims 8i + 4 .. 8i + 7 */
            const __m512 t0 = _mm512_shuffle_f32x4(lo, hi, 0x44), t1 = _mm512_shuffle_f32x4(lo, hi, 0xEE);
            _mm512_storeu_ps(o + h * vhd, _mm512_shuffle_f32x4(t0, t0, 0xD8));
            _mm512_storeu_ps(o + h * vhd + 16, _mm512_shuffle_f32x4(t1, t1, 0xD8));
        } else { /* BF16 between runs: even dims, then odd ones */
            _mm512_storeu_ps(o + h * vhd, a[h][0]);
            _mm512_storeu_ps(o + h * vhd + 16, a[h][1]);
        }
    }
}

/* Every tile of the group over keys from .. to, for one dtype. */
AI void run(const int dt, const char *values, const int *table, const long rowBytes, const long colBytes, const long bs,
        const long from, const long to, const long vhd, const long group, const float *buf, const long stride, float *out,
        const long ahead, const long ctx, const char *scales, const long sbb, const long sadd) {
    const int first = from == 0;
    for (long h0 = 0; h0 < group; h0 += 8) {
        const long nh = group - h0 < 8 ? group - h0 : 8;
        for (long c = 0; c < vhd; c += 32) {
            const float *p = buf + h0 * stride;
            float *o = out + h0 * vhd + c;
            const char *v = values + c * ENTRY_BYTES(dt);
            const long fetch = h0 == 0 && c == 0 ? ahead : 0;
            if (nh == 1) tile(1, dt, v, table, rowBytes, colBytes, bs, from, to, vhd, p, stride, o, first, fetch, ctx, scales, sbb, sadd);
            else if (nh == 2) tile(2, dt, v, table, rowBytes, colBytes, bs, from, to, vhd, p, stride, o, first, fetch, ctx, scales, sbb, sadd);
            else if (nh == 3) tile(3, dt, v, table, rowBytes, colBytes, bs, from, to, vhd, p, stride, o, first, fetch, ctx, scales, sbb, sadd);
            else if (nh == 4) tile(4, dt, v, table, rowBytes, colBytes, bs, from, to, vhd, p, stride, o, first, fetch, ctx, scales, sbb, sadd);
            else if (nh == 5) tile(5, dt, v, table, rowBytes, colBytes, bs, from, to, vhd, p, stride, o, first, fetch, ctx, scales, sbb, sadd);
            else if (nh == 6) tile(6, dt, v, table, rowBytes, colBytes, bs, from, to, vhd, p, stride, o, first, fetch, ctx, scales, sbb, sadd);
            else if (nh == 7) tile(7, dt, v, table, rowBytes, colBytes, bs, from, to, vhd, p, stride, o, first, fetch, ctx, scales, sbb, sadd);
            else tile(8, dt, v, table, rowBytes, colBytes, bs, from, to, vhd, p, stride, o, first, fetch, ctx, scales, sbb, sadd);
        }
    }
}

void attn_values(const long *args, const int *table, const float *buf, float *out) {
    const char *values = (const char *) args[0];
    const long dt = args[1], rowBytes = args[2], colBytes = args[3], bs = args[4], ctx = args[5], vhd = args[6];
    const long group = args[7], stride = args[9], keys = args[10], ahead = args[11];
    const char *scales = (const char *) args[12];
    const long sbb = args[13], sadd = args[14];
    out += args[8];
    for (long from = 0; from < ctx; from += keys) {
        const long to = from + keys < ctx ? from + keys : ctx;
        if (dt == 0) {
            run(0, values, table, rowBytes, colBytes, bs, from, to, vhd, group, buf, stride, out, ahead, ctx, scales, sbb, sadd);
        } else if (dt == 1) {
            run(1, values, table, rowBytes, colBytes, bs, from, to, vhd, group, buf, stride, out, ahead, ctx, scales, sbb, sadd);
        } else if (dt == 3) {
            run(3, values, table, rowBytes, colBytes, bs, from, to, vhd, group, buf, stride, out, ahead, ctx, scales, sbb, sadd);
        } else {
            run(2, values, table, rowBytes, colBytes, bs, from, to, vhd, group, buf, stride, out, ahead, ctx, scales, sbb, sadd);
        }
    }
}
