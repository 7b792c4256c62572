/*
 * What the several-token kernels share (fp8_tokens.c, q8_tokens.c, f16_tokens.c, bf16_tokens.c): four rows'
 * accumulators for a group of up to five tokens, the FMAs of one token, the outputs of each, and the loop over a
 * run's token groups. A group's size is a constant where its kernel is inlined (TILE(N, T0) below), so the compiler
 * keeps its 4 N accumulators in registers and drops the unused ones.
 */
#include "lanes.h"

/* The most tokens one pass over four rows takes (4 N accumulators and the row's widened floats in 32 registers). */
#define GROUP_MAX 5

/* The first 64-byte boundary at or after P: the activations are copied there, since every FMA loads one and a load
 * across two cache lines costs two (a Java array's floats start 16 bytes into it). P needs 15 floats of room. */
#define ALIGN64(P) ((float *) (((unsigned long) (P) + 63) & ~63UL))

/* The four rows' accumulators for five tokens: a<row><token>. */
#define TOKENS_ACCUMULATORS \
    __m512 a00 = _mm512_setzero_ps(), a01 = a00, a02 = a00, a03 = a00, a04 = a00; \
    __m512 a10 = a00, a11 = a00, a12 = a00, a13 = a00, a14 = a00; \
    __m512 a20 = a00, a21 = a00, a22 = a00, a23 = a00, a24 = a00; \
    __m512 a30 = a00, a31 = a00, a32 = a00, a33 = a00, a34 = a00;

/* Token T's four FMAs of one row and 64 columns into A: w0 .. w3 the row's floats of columns c .. c + 63 in the
 * layout's order, x the group's activations (token T's at x + T * cols). */
#define TOKEN_FMAS4(T, A) \
        if (N > (T)) { \
            const float *const xt = x + (T) * cols + c; \
            A = _mm512_fmadd_ps(w0, _mm512_loadu_ps(xt), A); \
            A = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xt + 16), A); \
            A = _mm512_fmadd_ps(w2, _mm512_loadu_ps(xt + 32), A); \
            A = _mm512_fmadd_ps(w3, _mm512_loadu_ps(xt + 48), A); }

/* Token T's two FMAs of one row and 32-column block into A: w0, w1 the row's floats of the block's first and second 16
 * columns in the layout's order (f16_tokens.c, bf16_tokens.c). */
#define TOKEN_FMAS2(T, A) \
        if (N > (T)) { \
            const float *const xt = x + (T) * cols + c; \
            A = _mm512_fmadd_ps(w0, _mm512_loadu_ps(xt), A); \
            A = _mm512_fmadd_ps(w1, _mm512_loadu_ps(xt + 16), A); }

/* Every token's FMAS(T, A) of row J (the row's accumulators a<J>0 .. a<J>4). */
#define TOKENS_OF_ROW(FMAS, A0, A1, A2, A3, A4) FMAS(0, A0) FMAS(1, A1) FMAS(2, A2) FMAS(3, A3) FMAS(4, A4)

/* OUT(T, A0, A1, A2, A3) for each token of the group: its four rows' accumulators. */
#define TOKENS_OUTPUTS(OUT) \
    OUT(0, a00, a10, a20, a30) \
    if (N > 1) OUT(1, a01, a11, a21, a31) \
    if (N > 2) OUT(2, a02, a12, a22, a32) \
    if (N > 3) OUT(3, a03, a13, a23, a33) \
    if (N > 4) OUT(4, a04, a14, a24, a34)

/* One block of the four rows for every token: the kernel's TOKENS_ROW(J, row J's accumulators), after its prefetches
 * PREFETCH_ROW(J) (f16_tokens.c, bf16_tokens.c). */
#define PREFETCH_ROWS4 PREFETCH_ROW(0) PREFETCH_ROW(1) PREFETCH_ROW(2) PREFETCH_ROW(3)
#define TOKENS_ROWS4 \
        TOKENS_ROW(0, a00, a01, a02, a03, a04) \
        TOKENS_ROW(1, a10, a11, a12, a13, a14) \
        TOKENS_ROW(2, a20, a21, a22, a23, a24) \
        TOKENS_ROW(3, a30, a31, a32, a33, a34)

/* Token T's outputs of four rows, their lane sums (lanes.h), at y + T * stride: the first row's there, the next ones
 * spread floats apart each (f16_tokens.c, bf16_tokens.c). */
#define TOKENS_OUT_SPREAD(T, A0, A1, A2, A3) { \
        float s[4]; \
        LANE_SUMS4(A0, A1, A2, A3, s) \
        float *const yt = y + (T) * stride; \
        yt[0] = s[0]; \
        yt[spread] = s[1]; \
        yt[2 * spread] = s[2]; \
        yt[3 * spread] = s[3]; }

/* TILE(N, T0) for each group of a run's n tokens, N (a constant) from token T0: sizes balanced, 3 + 3 for six,
 * 4 + 4 + 4 + 4 for sixteen (groups of one or two tokens run well below the FMA peak). */
#define FOR_TOKEN_GROUPS(n, TILE) { \
        const long groups_ = ((n) + GROUP_MAX - 1) / GROUP_MAX; \
        for (long g_ = 0, t0_ = 0; g_ < groups_; g_++) { \
            const long t1_ = (n) * (g_ + 1) / groups_; \
            switch (t1_ - t0_) { \
            case 1: TILE(1, t0_); break; \
            case 2: TILE(2, t0_); break; \
            case 3: TILE(3, t0_); break; \
            case 4: TILE(4, t0_); break; \
            default: TILE(5, t0_); break; \
            } \
            t0_ = t1_; \
        } }
