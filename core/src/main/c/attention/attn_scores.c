/*
 * RedHare native kernel: attention scores of one query token's heads of one KV group against the keys of a paged cache
 * (Attention.scores, the blocks a whole number of 16-key vectors). Each block stores its keys transposed ([kWidth][bs],
 * PagedKvCache): one load holds dim d of 16 consecutive keys, so each score is an FMA chain over the head dimension in
 * its own lane, in dim order, then times the scale: Attention's arithmetic, so the same bits, whatever the tile.
 *
 * Why native: Java has no prefetch into L2, and from DRAM a long context's keys came at a third of one thread's
 * bandwidth. Here the first tile of heads asks for the keys of the blocks ahead (PREFETCHT1), and a tile of up to eight
 * heads takes two to four key vectors (16 accumulators at most), each key vector widened once for every head of its
 * tile; an F16 cache is widened by VCVTPH2PS where Java takes eight vector operations.
 *
 * Arguments: args = {keys (address of the layer's keys), dtype (0 F32, 1 BF16, 2 F16, 3 Q8's codes), blockBytes (bytes a block),
 * add (bytes from a block's start to the group's first dim), bs (keys a block, a multiple of 16), ctx (keys),
 * headDim, group (heads), qo (head 0's query at q[qo], head h's at q[qo + h headDim]), stride (head h's scores at
 * buf[h stride + j], stride >= ctx + 16: a last vector's lanes past ctx land there), scale (float bits), ahead (blocks
 * of keys to prefetch ahead: into L1 when positive, into L2 (-ahead blocks) when negative, none when 0), scales (a Q8
 * cache's key scales: the address of the layer's, or 0 for none), scaleBlockBytes (bytes of scales a block), scaleAdd
 * (bytes from a block's scales to the group's)}; table: the sequence's block table; q, buf as said. With scales, each
 * score is (its FMA chain times the scale) times its key's scale, as Attention.scaleByKeys takes it.
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.attention.AttentionCode carries.
 */
#include "cache16.h"

/* Heads h0 .. h0 + NH of the group against every key, NV vectors (16 keys each) at a time. */
AI void tile(const int NH, const int NV, const int dt, const char *keys, const int *table, const long blockBytes,
        const long add, const long bs, const long ctx, const long hd, const float *q, float *buf, const long stride,
        const float scale, const long ahead, const char *scales, const long sbb, const long sadd) {
    const long es = ENTRY_BYTES(dt), row = bs * es;
    long fetched = 0; /* blocks whose keys were asked for */
    for (long j = 0; j < ctx; j += 16 * NV) {
        if (ahead != 0) {
            const long stop = (j + 16 * NV) / bs + (ahead > 0 ? ahead : -ahead);
            for (; fetched < stop && fetched * bs < ctx; fetched++) {
                const char *p = keys + table[fetched] * blockBytes + add;
                for (long b = 0; b < hd * row; b += 64) {
                    if (ahead > 0) _mm_prefetch(p + b, _MM_HINT_T0); else _mm_prefetch(p + b, _MM_HINT_T1);
                }
                if (dt == 3) {
                    const char *ps = scales + table[fetched] * sbb + sadd;
                    for (long b = 0; b < bs * 4; b += 64) {
                        if (ahead > 0) _mm_prefetch(ps + b, _MM_HINT_T0); else _mm_prefetch(ps + b, _MM_HINT_T1);
                    }
                }
            }
        }
        const char *c[4];
        const float *ks[4];
        long jj[4];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            long jv = j + 16 * v;
            if (jv >= ctx) {
                jv = jj[v - 1]; /* a vector past the context repeats the one before (same scores, stored again) */
            }
            jj[v] = jv;
            c[v] = keys + table[jv / bs] * blockBytes + add + (jv % bs) * es;
            ks[v] = dt == 3 ? (const float *) (scales + table[jv / bs] * sbb + sadd + (jv % bs) * 4) : 0;
        }
        __m512 a[8][4];
#pragma GCC unroll 8
        for (int h = 0; h < NH; h++) {
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) {
                a[h][v] = _mm512_setzero_ps();
            }
        }
        for (long d = 0; d < hd; d++) {
            __m512 k[4];
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) {
                k[v] = cache16(c[v] + d * row, dt);
            }
#pragma GCC unroll 8
            for (int h = 0; h < NH; h++) {
                const __m512 x = _mm512_set1_ps(q[h * hd + d]);
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) {
                    a[h][v] = _mm512_fmadd_ps(k[v], x, a[h][v]);
                }
            }
        }
        const __m512 s = _mm512_set1_ps(scale);
#pragma GCC unroll 8
        for (int h = 0; h < NH; h++) {
#pragma GCC unroll 4
            for (int v = 0; v < NV; v++) {
                __m512 r = _mm512_mul_ps(a[h][v], s);
                if (dt == 3) {
                    r = _mm512_mul_ps(r, _mm512_loadu_ps(ks[v]));
                }
                _mm512_storeu_ps(buf + h * stride + jj[v], r);
            }
        }
    }
}

/* Tiles of eight heads, then what is left, for one dtype. */
AI void heads(const int dt, const char *keys, const int *table, const long blockBytes, const long add, const long bs,
        const long ctx, const long hd, const long group, const float *q, float *buf, const long stride, const float scale,
        const long ahead, const char *scales, const long sbb, const long sadd) {
    for (long h0 = 0; h0 < group; h0 += 8) {
        const float *qh = q + h0 * hd;
        float *bh = buf + h0 * stride;
        const long fetch = h0 == 0 ? ahead : 0; /* the first tile brings the keys in; the others find them in L2 */
        const long nh = group - h0 < 8 ? group - h0 : 8; /* an if chain: a switch's jump table would be data */
        if (nh == 1) tile(1, 4, dt, keys, table, blockBytes, add, bs, ctx, hd, qh, bh, stride, scale, fetch, scales, sbb, sadd);
        else if (nh == 2) tile(2, 4, dt, keys, table, blockBytes, add, bs, ctx, hd, qh, bh, stride, scale, fetch, scales, sbb, sadd);
        else if (nh == 3) tile(3, 4, dt, keys, table, blockBytes, add, bs, ctx, hd, qh, bh, stride, scale, fetch, scales, sbb, sadd);
        else if (nh == 4) tile(4, 4, dt, keys, table, blockBytes, add, bs, ctx, hd, qh, bh, stride, scale, fetch, scales, sbb, sadd);
        else if (nh == 5) tile(5, 2, dt, keys, table, blockBytes, add, bs, ctx, hd, qh, bh, stride, scale, fetch, scales, sbb, sadd);
        else if (nh == 6) tile(6, 2, dt, keys, table, blockBytes, add, bs, ctx, hd, qh, bh, stride, scale, fetch, scales, sbb, sadd);
        else if (nh == 7) tile(7, 2, dt, keys, table, blockBytes, add, bs, ctx, hd, qh, bh, stride, scale, fetch, scales, sbb, sadd);
        else tile(8, 2, dt, keys, table, blockBytes, add, bs, ctx, hd, qh, bh, stride, scale, fetch, scales, sbb, sadd);
    }
}

void attn_scores(const long *args, const int *table, const float *q, float *buf) {
    const char *keys = (const char *) args[0];
    const long dt = args[1], blockBytes = args[2], add = args[3], bs = args[4], ctx = args[5], hd = args[6];
    const long group = args[7], qo = args[8], stride = args[9], ahead = args[11];
    union { int i; float f; } scale = { .i = (int) args[10] };
    const char *scales = (const char *) args[12];
    const long sbb = args[13], sadd = args[14];
    if (dt == 0) {
        heads(0, keys, table, blockBytes, add, bs, ctx, hd, group, q + qo, buf, stride, scale.f, ahead, scales, sbb, sadd);
    } else if (dt == 1) {
        heads(1, keys, table, blockBytes, add, bs, ctx, hd, group, q + qo, buf, stride, scale.f, ahead, scales, sbb, sadd);
    } else if (dt == 3) {
        heads(3, keys, table, blockBytes, add, bs, ctx, hd, group, q + qo, buf, stride, scale.f, ahead, scales, sbb, sadd);
    } else {
        heads(2, keys, table, blockBytes, add, bs, ctx, hd, group, q + qo, buf, stride, scale.f, ahead, scales, sbb, sadd);
    }
}
