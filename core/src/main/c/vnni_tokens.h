/*
 * RedHare native kernels (a template): GGUF weights whose values are small integers with a scale per block, times a few tokens'
 * activations quantized to int8 per 32-column block (dx = amax / 127, xq = rint(x / dx), as NibbleBlocks quantizes
 * them), in integers: AVX512-VNNI's VPDPBUSD multiplies four unsigned bytes (values, their center added) by four
 * signed bytes (four columns' activations, broadcast) and adds them into a row's 32-bit lane, 64 products an
 * instruction, never saturating. Each sum starts at -center sum(xq), so the center comes off exactly. Twelve forms:
 *
 * Form 0, Q6_K (Q6_KMatrix: W = d sc (u - 32), a 6-bit value u, an int8 scale sc per 16 columns, a float d per
 * 256-column super-block of each row). Per 16-column unit j, per row: T = sum((u - 32) xq) (at most 16 * 32 * 127 =
 * 65024 in size); per 32-column block b, the two units' sc T added as integers, exactly (at most 2 * 128 * 65024 =
 * 16646144 < 2^24 in size, so exact as a float too), and the row's float accumulator takes fma(float(sum), d dx, acc)
 * over the blocks in column order from zero.
 *
 * Form 1, Q8_0 (Q8_0IntMatrix: W = d q, an int8 value q and an f16 d per 32 columns). Per block, per row: T = sum(q xq)
 * from u = q + 128 (at most 32 * 128 * 127 = 520192 in size), and fma(float(T), d dx, acc) over the blocks in column
 * order from zero.
 *
 * Form 2, Q5_K (Q5_KMatrix: W = d sc u - dmin m, a 5-bit value u, 6-bit codes sc and m per 32 columns, f16 d and dmin
 * per 256-column super-block). Per block, per row: T = sum(u xq) (no center: u is unsigned; at most 32 * 31 * 127 =
 * 125984 in size), then fma(float(T), (d sc) dx, acc) and fma(sum(xq), (-dmin m) dx, acc), both products of factors
 * exact, over the blocks in column order from zero.
 *
 * Form 3, Q4_K (Q4_KIntMatrix): form 2 with 4-bit values u (T at most 32 * 15 * 127 = 60960 in size), the same codes
 * and factors.
 *
 * Forms 4 to 7, Q4_0, Q4_1, Q5_0, Q5_1 (BlockIntMatrix: W = d (u - center) or d u + m, a 4- or 5-bit value u, f16 d and
 * m per 32 columns). Per block, per row: T = sum((u - center) xq) (starting at -center sum(xq); center 8 for Q4_0, 16
 * for Q5_0, none with an offset; at most 32 * 31 * 127 in size), fma(float(T), d dx, acc), then with an offset
 * fma(sum(xq), m dx, acc), over the blocks in column order from zero.
 *
 * Form 8, IQ4_NL (BlockIntMatrix: W = d level(u), ggml's 16 int8 levels picked by a 4-bit u, f16 d per 32 columns): form
 * 4 with each nibble looked up as its level plus 128 (VPSHUFB) and center 128 (T at most 32 * 127 * 127 in size).
 *
 * Form 9, IQ4_XS (IQ4_XSIntMatrix: W = d (ls - 32) level(u), a 6-bit ls per 32 columns and an f16 d per 256-column
 * super-block): per block T as form 8's, then fma(float(T), (d sc) dx, acc) with sc = ls - 32 (d sc exact).
 *
 * Form 10, Q3_K (Q3_KIntMatrix: W = d sc (u - 4), a 3-bit u, a 6-bit scale sc (less 32, -32..31) per 16 columns, an f16
 * d per 256-column super-block): form 0 with center 4 (a unit's T at most 16 * 4 * 127 = 8128 in size, a block's
 * scaled sum 2 * 32 * 8128).
 *
 * Form 11, Q2_K (Q2_KIntMatrix: W = d sc u - dmin m, a 2-bit u, 4-bit sc and m per 16 columns, f16 d and dmin per
 * 256-column super-block). Per 16-column unit T = sum(u xq) (at most 16 * 3 * 127 = 6096 in size); per block the
 * integers sc0 T0 + sc1 T1 and m0 sum(xq)0 + m1 sum(xq)1, then fma(float(first), d dx, acc) and fma(float(second),
 * -dmin dx, acc).
 *
 * The Java kernels (VnniMatrix.multiplyInJava over each class's blocks) compute the same integers and the same FMAs, so
 * the same bits.
 *
 * Two loops over a quad. A token at a time (fewer than args[11] tokens: decode): each token puts the values together
 * from the packed layout again (a few operations a vector: 2-bit and 4-bit values an AND and a shift, 5- and 6-bit
 * ones also a VPTERNLOGD and the high bits' shifts), which with many tokens cost more than their VPDPBUSDs. The scratch
 * path (args[11] tokens or more: prompts, batches): a block of the quad's four tiles at a time, its values put
 * together once into a 4 KiB scratch (128 bytes a step, as VPDPBUSD takes them; Q8_0's bytes are read where they are)
 * and its factors once as floats, then each token's 64 VPDPBUSDs read them from L1; each token's float sums (32 tokens
 * at a time) wait in a scratch from block to block, so the FMAs are the same, in the same order. The tiles' block
 * after next is prefetched into L1 meanwhile.
 *
 * Layout, form 0 (6 bits a value as the file has them: 0.8125 bytes a weight with the scales): tile t's block b at
 * packed + 832 (t nb + b). Its values form 16 vectors V(4 g + m) of 64 bytes (16 rows, a row's four columns a 32-bit
 * lane): group g = 2 j + s / 2 of unit j, m = 2 (s % 2) + h for step s (columns 4 s .. 4 s + 3 of the unit) and half h
 * (rows 16 h ..). Group g's 192 bytes at 192 g: low nibbles L0 (V(4 g) at bits 0..3, V(4 g + 1) at 4..7), L1 (V(4 g
 * + 2), V(4 g + 3)), then high bit pairs H (V(4 g + m) at bits 2 m), in the order the kernel reads them: stored apart
 * (all nibbles, then all pairs) the same kernel read DRAM at 17.7 GB/s instead of 23.2. Each value is put together
 * with a shift, an AND and a three-input logic op (VPTERNLOGD). Then the scales, a byte a row, of unit 0 at 768 and of
 * unit 1 at 800. d: row 32 t + i's super-block k at d[(t nsb + k) 32 + i], nsb = nb / 8.
 *
 * Layout, form 1 (1.0625 bytes a weight, as the file): tile t's block b at packed + 1088 (t nb + b): step s (columns
 * 4 s .. 4 s + 3) at 128 s, rows 0..15 in its first 64 bytes and 16..31 in its second, a row's four values (plus 128)
 * in its 32-bit lane; then the rows' f16 scales at 1024. d unused.
 *
 * Layout, form 2 (5 bits a value: 0.6875 bytes a weight, plus 0.03 for d and dmin, as the file): tile t's block b at
 * packed + 704 (t nb + b): its values form 16 vectors V(2 s + h) as form 1's (step s, half h), in two groups g of eight
 * (steps 4 g .. 4 g + 3), group g's 320 bytes at 320 g: four vectors of low nibbles (the k-th: V(8 g + 2 k) at bits 0..3,
 * V(8 g + 2 k + 1) at 4..7), then one of fifth bits (V(8 g + m) at bit m); then the rows' codes sc at 640 and m at 672.
 * d: row 32 t + i's super-block k's d at d[(t nsb + k) 64 + i] and -dmin at d[(t nsb + k) 64 + 32 + i].
 *
 * Layout, form 3 (4 bits a value: 0.5625 bytes a weight, plus 0.03 for d and dmin, as the file): tile t's block b at
 * packed + 576 (t nb + b): step s's two halves at 64 s, V(2 s) (rows 0..15) at bits 0..3 and V(2 s + 1) at 4..7, each
 * value taken out with an AND (and a shift); then the codes sc at 512 and m at 544. d as form 2's.
 *
 * Layout, forms 4 to 7 (the file's bytes a weight: 0.5625, 0.625, 0.6875, 0.75): tile t's block b at packed + B (t nb +
 * b), the values as form 3's (4 bits: 512 bytes) or form 2's (5 bits: 640 bytes), then the rows' f16 d (64 bytes) and,
 * with offsets, their f16 m (64 bytes): B = 576, 640, 704, 768. d unused. Form 8 as form 4 (576 bytes).
 *
 * Layout, form 9 (0.53 bytes a weight, plus 0.016 for d, as the file): tile t's block b at packed + 544 (t nb + b), the
 * values as form 3's, then the rows' codes sc = ls - 32 as signed bytes at 512. d: row 32 t + i's super-block k's d at
 * d[(t nsb + k) 32 + i].
 *
 * Layout, form 10 (0.4375 bytes a weight, plus 0.016 for d; the file 0.43): tile t's block b at packed + 448 (t nb +
 * b); unit j's (16 columns) 192 bytes at 192 j: its eight vectors m = 2 s + h (step s of the unit, half h) as two
 * vectors of low bit pairs (vector m at bits 2 (m % 4) of the (m / 4)-th) and one of third bits (vector m at bit m),
 * each value put together with a shift or two, an AND and a VPTERNLOGD; then the rows' int8 scales of unit 0 at 384
 * and of unit 1 at 416. d as form 9's.
 *
 * Layout, form 11 (0.3125 bytes a weight, plus 0.03 for d and dmin; the file 0.33): tile t's block b at packed + 320
 * (t nb + b); unit j's two vectors of bit pairs (as form 10's) at 128 j; then the rows' codes sc | m << 4 of unit 0 at
 * 256 and of unit 1 at 288. d as form 2's (d, then -dmin).
 *
 * Arguments: args = {packed (address), nb (32-column blocks a row; forms 0 and 2: a multiple of 8), quads (the matrix's (tiles
 * + 3) / 4), tiles, rows, p0, p1 (the quads to take), t0, t1 (the tokens), n (tokens in all), form}. A quad p is tiles
 * p, p + quads, p + 2 quads, p + 3 quads (one past the last tile: p again), four streams far apart. xp: token t's
 * activations at xp + (t - t0) 18 nb shorts: its 32 nb bytes in column order, then each 16-column unit's sum(xq) (2 nb
 * shorts); xf: token t's block scales dx at xf[t nb + b]; y: token t's output for row r at y[t rows + r].
 *
 * Included by q6k_tokens.c, q8i_tokens.c, q5k_tokens.c, q4k_tokens.c, q40_tokens.c, q41_tokens.c, q50_tokens.c,
 * q51_tokens.c, iq4nl_tokens.c, iq4xs_tokens.c, q3k_tokens.c and q2k_tokens.c, each with its FORM and VNNI_NAME, so that each function holds one form's code (compiled together, three forms' registers spilled: 190 stack accesses of vectors
 * against 22).
 * args[10] repeats the form, unread here; args[11]: from how many tokens (t1 - t0) the scratch path runs. Built by scripts/native/build-kernels.sh into the bytes
 * org.redhare.core.matrix.NativeCode carries.
 */
#include <immintrin.h>
#include "tiles32.h"

/* A tile macro M for each of the quad's four tiles a, b, c and d, with the same further arguments. */
#define TILES(M, ...) M(a, ##__VA_ARGS__) M(b, ##__VA_ARGS__) M(c, ##__VA_ARGS__) M(d, ##__VA_ARGS__)

/* One vector of a block's values as VPDPBUSD takes them (unsigned bytes, 16 rows' four columns): step STEP (columns
 * 4 STEP .. 4 STEP + 3), half H (rows 16 H .. 16 H + 15) of tile I. The step macros below put the values together and
 * hand them to DOT: DOT_SUM adds their products with the step's activations XV into the tile's sums (a token at a
 * time), DOT_STORE keeps them in the tile's scratch w##I, 128 bytes a step, for the tokens that follow. */
#define DOT_SUM(I, H, STEP, V, XV) a##I##H = _mm512_dpbusd_epi32(a##I##H, V, XV);
#define DOT_STORE(I, H, STEP, V, XV) _mm512_store_si512((void *) (w##I + 128 * (STEP) + 64 * (H)), V);

/* Group G (unit G / 2, its steps 2 (G % 2) and 2 (G % 2) + 1 with activations xv0 and xv1, both halves) of tile I:
 * each value's low nibble from L (0x0F) and high pair from H (0x30), then summed: (l & 0x0F) | (h & 0x30), VPTERNLOGD 0xEC. */
#define GROUP(I, G) { \
        const __m512i l0 = _mm512_loadu_si512((const void *) (q##I + 192 * (G))); \
        const __m512i l1 = _mm512_loadu_si512((const void *) (q##I + 192 * (G) + 64)); \
        const __m512i h = _mm512_loadu_si512((const void *) (q##I + 192 * (G) + 128)); \
        DOT(I, 0, 2 * (G), _mm512_ternarylogic_epi32(l0, _mm512_and_si512(_mm512_slli_epi16(h, 4), m30), lo, 0xEC), xv0) \
        DOT(I, 1, 2 * (G), _mm512_ternarylogic_epi32(_mm512_srli_epi16(l0, 4), _mm512_and_si512(_mm512_slli_epi16(h, 2), m30), lo, 0xEC), xv0) \
        DOT(I, 0, 2 * (G) + 1, _mm512_ternarylogic_epi32(l1, _mm512_and_si512(h, m30), lo, 0xEC), xv1) \
        DOT(I, 1, 2 * (G) + 1, _mm512_ternarylogic_epi32(_mm512_srli_epi16(l1, 4), _mm512_and_si512(_mm512_srli_epi16(h, 2), m30), lo, 0xEC), xv1) }

/* Unit J of tile I's sums times its scales (int8, the block's at AT), into the block's integer sums. */
#define SCALE(I, J, AT) \
        i##I##0 = _mm512_add_epi32(i##I##0, _mm512_mullo_epi32(a##I##0, \
                _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *) (q##I + (AT) + 32 * (J)))))); \
        i##I##1 = _mm512_add_epi32(i##I##1, _mm512_mullo_epi32(a##I##1, \
                _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *) (q##I + (AT) + 32 * (J) + 16)))));

/* Tile I's block folded into its float accumulators: fma(float(sum), d dx, acc), rows 0..15 and 16..31. */
#define FOLD(I) { \
        const float *const ds = d + 32 * (t##I * nsb + (b >> 3)); \
        f##I##0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i##I##0), _mm512_mul_ps(_mm512_loadu_ps(ds), dx), f##I##0); \
        f##I##1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i##I##1), _mm512_mul_ps(_mm512_loadu_ps(ds + 16), dx), f##I##1); }

/* Step S of tile I's Q8_0 block: both halves' sums take the step's four columns (xv). */
#define BYTES(I, S) \
        DOT(I, 0, S, _mm512_loadu_si512((const void *) (q##I + 128 * (S))), xv) \
        DOT(I, 1, S, _mm512_loadu_si512((const void *) (q##I + 128 * (S) + 64)), xv)

/* Tile I's block folded into its float accumulators: fma(float(T), d dx, acc), d from the block's f16 scales at AT
 * (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1). */
#define FOLDH(I, AT) \
        f##I##0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a##I##0), \
                _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (q##I + (AT)))), dx), f##I##0); \
        f##I##1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a##I##1), \
                _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (q##I + (AT) + 32))), dx), f##I##1);

/* Then the block's offsets: fma(sum(xq), m dx, acc), m from the block's f16 offsets at AT (Q4_1, Q5_1). */
#define FOLDM(I, AT) \
        f##I##0 = _mm512_fmadd_ps(sq, _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (q##I + (AT)))), dx), f##I##0); \
        f##I##1 = _mm512_fmadd_ps(sq, _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (q##I + (AT) + 32))), dx), f##I##1);


/* Step K of group G (steps 4 G + K) of tile I's Q5_K block: its two halves' values, low nibbles from L (bits 0..3 for
 * rows 0..15, 4..7 for 16..31) and fifth bits from H (bit 2 K + h), put together and summed. */
#define FIVE(I, G, K, SH0, SH1) { \
        const __m512i l = _mm512_loadu_si512((const void *) (q##I + 320 * (G) + 64 * (K))); \
        const __m512i h = _mm512_loadu_si512((const void *) (q##I + 320 * (G) + 256)); \
        DOT(I, 0, 4 * (G) + (K), _mm512_ternarylogic_epi32(l, _mm512_and_si512(SH0, m10), lo, 0xEC), xv) \
        DOT(I, 1, 4 * (G) + (K), _mm512_ternarylogic_epi32(_mm512_srli_epi16(l, 4), _mm512_and_si512(SH1, m10), lo, 0xEC), xv) }

/* The fifth bits of values 2 K and 2 K + 1 of a group, moved to bit 4 (16-bit shifts: bit 4 of each byte comes from
 * its own bit 2 K or 2 K + 1). */
#define FIVES(I, G, K) FIVE(I, G, K, \
        (2 * (K) <= 4 ? _mm512_slli_epi16(h, 4 - 2 * (K)) : _mm512_srli_epi16(h, 2 * (K) - 4)), \
        (2 * (K) + 1 <= 4 ? _mm512_slli_epi16(h, 3 - 2 * (K)) : _mm512_srli_epi16(h, 2 * (K) - 3)))

/* Step S of tile I's Q4_K block: its two halves' values, the low and the high nibbles of one vector, summed. */
#define FOUR(I, S) { \
        const __m512i l = _mm512_loadu_si512((const void *) (q##I + 64 * (S))); \
        DOT(I, 0, S, LEVELS(_mm512_and_si512(l, lo)), xv) \
        DOT(I, 1, S, LEVELS(_mm512_and_si512(_mm512_srli_epi16(l, 4), lo)), xv) }

/* The byte a nibble stands for: itself, or (IQ4_NL, IQ4_XS) its level plus 128, looked up in a 16-byte table (VPSHUFB). */
#define LEVELS(V) (form >= 8 ? _mm512_shuffle_epi8(lut, V) : (V))

/* A 16-bit lane shift by N bits, right where N is positive, left where it is negative (N a constant). */
#define SHIFT16(V, N) ((N) >= 0 ? _mm512_srli_epi16(V, (N) >= 0 ? (N) : 0) : _mm512_slli_epi16(V, (N) < 0 ? -(N) : 0))

/* Step S (0..3) of unit J of tile I's Q3_K block, both halves (vectors m = 2 S + h): each value's two low bits from the
 * pair vector S / 2 (bits 2 (m % 4)) and its third bit from the unit's bit vector (bit m), put together with a shift or
 * two, an AND and a VPTERNLOGD, and summed. */
#define THREE(I, J, S) { \
        const __m512i p = _mm512_loadu_si512((const void *) (q##I + 192 * (J) + 64 * ((S) / 2))); \
        const __m512i h = _mm512_loadu_si512((const void *) (q##I + 192 * (J) + 128)); \
        DOT(I, 0, 4 * (J) + (S), _mm512_ternarylogic_epi32(SHIFT16(p, 4 * ((S) % 2)), \
                _mm512_and_si512(SHIFT16(h, 2 * (S) - 2), m04), m03, 0xEC), xv) \
        DOT(I, 1, 4 * (J) + (S), _mm512_ternarylogic_epi32(SHIFT16(p, 4 * ((S) % 2) + 2), \
                _mm512_and_si512(SHIFT16(h, 2 * (S) - 1), m04), m03, 0xEC), xv) }

/* Step S (0..3) of unit J of tile I's Q2_K block, both halves (vectors m = 2 S + h): each value's two bits from the
 * pair vector S / 2 (bits 2 (m % 4)), a shift and an AND, summed. */
#define TWO(I, J, S) { \
        const __m512i p = _mm512_loadu_si512((const void *) (q##I + 128 * (J) + 64 * ((S) / 2))); \
        DOT(I, 0, 4 * (J) + (S), _mm512_and_si512(SHIFT16(p, 4 * ((S) % 2)), m03), xv) \
        DOT(I, 1, 4 * (J) + (S), _mm512_and_si512(SHIFT16(p, 4 * ((S) % 2) + 2), m03), xv) }

/* Unit J of tile I's Q2_K sums times its scales (the low nibbles of the codes at 256 + 32 J), into the block's sums. */
#define SCALE2(I, J) \
        i##I##0 = _mm512_add_epi32(i##I##0, _mm512_mullo_epi32(a##I##0, _mm512_and_si512(byte15, \
                _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (q##I + 256 + 32 * (J))))))); \
        i##I##1 = _mm512_add_epi32(i##I##1, _mm512_mullo_epi32(a##I##1, _mm512_and_si512(byte15, \
                _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (q##I + 256 + 32 * (J) + 16))))));

/* Rows R .. R + 15 of tile I's Q2_K offset multiplier: m0 sum(xq) of unit 0 + m1 sum(xq) of unit 1, the codes' high nibbles. */
#define MINS2(I, R) _mm512_add_epi32( \
        _mm512_mullo_epi32(_mm512_srli_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (q##I + 256 + (R)))), 4), sx0), \
        _mm512_mullo_epi32(_mm512_srli_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (q##I + 288 + (R)))), 4), sx1))

/* Tile I's Q2_K block folded into its float accumulators: fma(float(sum sc T), d dx, acc), then fma(float(sum m
 * sum(xq)), -dmin dx, acc), d and -dmin per super-block and row as Q5_K's. */
#define FOLD2(I) { \
        const float *const ds = d + 64 * (t##I * nsb + (b >> 3)); \
        f##I##0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i##I##0), _mm512_mul_ps(_mm512_loadu_ps(ds), dx), f##I##0); \
        f##I##1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(i##I##1), _mm512_mul_ps(_mm512_loadu_ps(ds + 16), dx), f##I##1); \
        f##I##0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(MINS2(I, 0)), _mm512_mul_ps(_mm512_loadu_ps(ds + 32), dx), f##I##0); \
        f##I##1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(MINS2(I, 16)), _mm512_mul_ps(_mm512_loadu_ps(ds + 48), dx), f##I##1); }

/* Tile I's IQ4_XS block folded into its float accumulators: fma(float(T), (d sc) dx, acc), d per super-block and row,
 * sc the block's signed scale code (ls - 32) at 512 (d sc exact). */
#define FOLDX(I) { \
        const float *const ds = d + 32 * (t##I * nsb + (b >> 3)); \
        const __m512 s0 = _mm512_mul_ps(_mm512_loadu_ps(ds), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *) (q##I + 512))))); \
        const __m512 s1 = _mm512_mul_ps(_mm512_loadu_ps(ds + 16), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *) (q##I + 528))))); \
        f##I##0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a##I##0), _mm512_mul_ps(s0, dx), f##I##0); \
        f##I##1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a##I##1), _mm512_mul_ps(s1, dx), f##I##1); }

/* A block's 5-bit values (Q5_K, Q5_0, Q5_1) summed, all four tiles: two groups of four steps. */
#define FIVE_STEPS \
        _Pragma("GCC unroll 2") \
        for (long g = 0; g < 2; g++) { \
            { const __m512i xv = _mm512_set1_epi32(xi[8 * b + 4 * g]); TILES(FIVES, g, 0) } \
            { const __m512i xv = _mm512_set1_epi32(xi[8 * b + 4 * g + 1]); TILES(FIVES, g, 1) } \
            { const __m512i xv = _mm512_set1_epi32(xi[8 * b + 4 * g + 2]); TILES(FIVES, g, 2) } \
            { const __m512i xv = _mm512_set1_epi32(xi[8 * b + 4 * g + 3]); TILES(FIVES, g, 3) } \
        }

/* A block's 4-bit values (Q4_K, Q4_0, Q4_1) summed, all four tiles: eight steps. */
#define FOUR_STEPS \
        _Pragma("GCC unroll 8") \
        for (long s = 0; s < 8; s++) { \
            const __m512i xv = _mm512_set1_epi32(xi[8 * b + s]); \
            TILES(FOUR, s) \
        }

/* Tile I's Q5_K or Q4_K block folded into its float accumulators: fma(float(T), s dx, acc), then fma(sum(xq), o dx,
 * acc), with s = d sc and o = -dmin m from the super-block's factors and the block's codes at KC (sc) and KC + 32 (m),
 * both products exact. */
#define FOLD5(I) { \
        const float *const ds = d + 64 * (t##I * nsb + (b >> 3)); \
        const __m512 s0 = _mm512_mul_ps(_mm512_loadu_ps(ds), _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (q##I + kc))))); \
        const __m512 s1 = _mm512_mul_ps(_mm512_loadu_ps(ds + 16), _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (q##I + kc + 16))))); \
        const __m512 o0 = _mm512_mul_ps(_mm512_loadu_ps(ds + 32), _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (q##I + kc + 32))))); \
        const __m512 o1 = _mm512_mul_ps(_mm512_loadu_ps(ds + 48), _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (q##I + kc + 48))))); \
        f##I##0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a##I##0), _mm512_mul_ps(s0, dx), f##I##0); \
        f##I##1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(a##I##1), _mm512_mul_ps(s1, dx), f##I##1); \
        f##I##0 = _mm512_fmadd_ps(sq, _mm512_mul_ps(o0, dx), f##I##0); \
        f##I##1 = _mm512_fmadd_ps(sq, _mm512_mul_ps(o1, dx), f##I##1); }

/* Steps 0..3 of unit (or group) J of all four tiles through a step macro M (FIVES, THREE, TWO). */
#define UNIT4(M, J) TILES(M, J, 0) TILES(M, J, 1) TILES(M, J, 2) TILES(M, J, 3)

/* The scratch path's macros. Tile I's (K-th of the quad) block factors, once a block for all tokens: the rows' float
 * factors of T in scf[K] (as the FOLD macros compute them, so the same floats), of the offset term in off[K] (Q5_K,
 * Q4_K, Q4_1, Q5_1: o; Q2_K: -dmin), and per 16-column unit the int8 scales (Q6_K, Q3_K, Q2_K) in usc[K] and Q2_K's
 * min codes in mco[K], a 32-bit lane a row. */
#define FACTORS(I, K) { \
        if (form == 0 || form == 10 || form == 11) { \
            const long at_ = form == 0 ? 768 : form == 10 ? 384 : 256; \
            for (long j_ = 0; j_ < 2; j_++) { \
                for (long h_ = 0; h_ < 2; h_++) { \
                    const __m512i c_ = form == 11 ? _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (q##I + at_ + 32 * j_ + 16 * h_))) \
                            : _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *) (q##I + at_ + 32 * j_ + 16 * h_))); \
                    _mm512_store_si512((void *) (usc[K][j_] + 16 * h_), form == 11 ? _mm512_and_si512(byte15, c_) : c_); \
                    if (form == 11) { \
                        _mm512_store_si512((void *) (mco[K][j_] + 16 * h_), _mm512_srli_epi32(c_, 4)); \
                    } \
                } \
            } \
        } \
        for (long h_ = 0; h_ < 2; h_++) { \
            const float *const d32_ = d + 32 * (t##I * nsb + (b >> 3)) + 16 * h_, *const d64_ = d + 64 * (t##I * nsb + (b >> 3)) + 16 * h_; \
            __m512 s_, o_ = _mm512_setzero_ps(); \
            if (form == 0 || form == 10) { \
                s_ = _mm512_loadu_ps(d32_); \
            } else if (form == 11) { \
                s_ = _mm512_loadu_ps(d64_); \
                o_ = _mm512_loadu_ps(d64_ + 32); \
            } else if (form == 9) { \
                s_ = _mm512_mul_ps(_mm512_loadu_ps(d32_), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *) (q##I + 512 + 16 * h_))))); \
            } else if (form == 1 || form >= 4) { \
                const long vb_ = form == 1 ? 1024 : form == 6 || form == 7 ? 640 : 512; \
                s_ = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (q##I + vb_ + 32 * h_))); \
                if (form == 5 || form == 7) { \
                    o_ = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (q##I + vb_ + 64 + 32 * h_))); \
                } \
            } else { \
                s_ = _mm512_mul_ps(_mm512_loadu_ps(d64_), _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (q##I + kc + 16 * h_))))); \
                o_ = _mm512_mul_ps(_mm512_loadu_ps(d64_ + 32), _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (q##I + kc + 32 + 16 * h_))))); \
            } \
            _mm512_store_ps(scf[K] + 16 * h_, s_); \
            _mm512_store_ps(off[K] + 16 * h_, o_); \
        } }

/* Step S of tile I from its scratch u##I (or, Q8_0, its packed block), both halves, into the token's sums. */
#define READ(I, S) \
        DOT_SUM(I, 0, S, _mm512_loadu_si512((const void *) (u##I + 128 * (S))), xv) \
        DOT_SUM(I, 1, S, _mm512_loadu_si512((const void *) (u##I + 128 * (S) + 64)), xv)

/* Steps 4 J .. 4 J + 3 (unit J) of all four tiles, the token's activations broadcast a step at a time. */
#define READ_UNIT(J) \
        _Pragma("GCC unroll 4") \
        for (long s = 4 * (J); s < 4 * (J) + 4; s++) { \
            const __m512i xv = _mm512_set1_epi32(xi[8 * b + s]); \
            TILES(READ, s) \
        }

/* Unit J's sums of tile I (K-th) times their scales, into the block's sums s##I. */
#define UNIT_SCALE(I, K, J) \
        s##I##0 = _mm512_add_epi32(s##I##0, _mm512_mullo_epi32(a##I##0, _mm512_load_si512((const void *) usc[K][J]))); \
        s##I##1 = _mm512_add_epi32(s##I##1, _mm512_mullo_epi32(a##I##1, _mm512_load_si512((const void *) (usc[K][J] + 16))));

/* Tile I's (K-th) block folded into the token's float sums at acct (zero before the first block), the FMAs of the FOLD
 * macros in their order: fma(float(T), s dx, acc), then with offsets fma(sum(xq), o dx, acc) or (Q2_K)
 * fma(float(m0 sum(xq)0 + m1 sum(xq)1), -dmin dx, acc). */
#define FOLDS(I, K) { \
        __m512 g0 = b == 0 ? _mm512_setzero_ps() : _mm512_load_ps(acct + 32 * (K)); \
        __m512 g1 = b == 0 ? _mm512_setzero_ps() : _mm512_load_ps(acct + 32 * (K) + 16); \
        g0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s##I##0), _mm512_mul_ps(_mm512_load_ps(scf[K]), dx), g0); \
        g1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s##I##1), _mm512_mul_ps(_mm512_load_ps(scf[K] + 16), dx), g1); \
        if (form == 2 || form == 3 || form == 5 || form == 7) { \
            g0 = _mm512_fmadd_ps(sq, _mm512_mul_ps(_mm512_load_ps(off[K]), dx), g0); \
            g1 = _mm512_fmadd_ps(sq, _mm512_mul_ps(_mm512_load_ps(off[K] + 16), dx), g1); \
        } else if (form == 11) { \
            g0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_mullo_epi32(_mm512_load_si512((const void *) mco[K][0]), sx0), \
                    _mm512_mullo_epi32(_mm512_load_si512((const void *) mco[K][1]), sx1))), _mm512_mul_ps(_mm512_load_ps(off[K]), dx), g0); \
            g1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_mullo_epi32(_mm512_load_si512((const void *) (mco[K][0] + 16)), sx0), \
                    _mm512_mullo_epi32(_mm512_load_si512((const void *) (mco[K][1] + 16)), sx1))), _mm512_mul_ps(_mm512_load_ps(off[K] + 16), dx), g1); \
        } \
        _mm512_store_ps(acct + 32 * (K), g0); \
        _mm512_store_ps(acct + 32 * (K) + 16, g1); }

__attribute__((target("avx512f,avx512bw,avx512vnni")))
void VNNI_NAME(const long *args, const short *xp, const float *xf, const float *d, float *y) {
    const unsigned char *const packed = (const unsigned char *) args[0];
    const long nb = args[1], quads = args[2], tiles = args[3], rows = args[4], p0 = args[5], p1 = args[6];
    const long t0 = args[7], t1 = args[8], form = FORM, nsb = nb >> 3;
    const long bytes = form == 0 ? 832 : form == 1 ? 1088 : form == 2 || form == 6 ? 704 : form == 3 || form == 4 || form == 8 ? 576
            : form == 5 ? 640 : form == 7 ? 768 : form == 9 ? 544 : form == 10 ? 448 : 320;
    const long kc = form == 2 ? 640 : 512;
    const __m512i lo = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30), m10 = _mm512_set1_epi8(0x10);
    const __m512i m03 = _mm512_set1_epi8(0x03), m04 = _mm512_set1_epi8(0x04), byte15 = _mm512_set1_epi32(15);
    /* ggml's kvalues_iq4nl plus 128 (1, 24, 45, 63, 79, 93, 106, 118, 129, 141, 153, 166, 181, 197, 217, 241), in every
     * 128-bit lane; through registers: as a constant the compiler would load it from a data section */
    long lut0 = 0x766A5D4F3F2D1801L, lut1 = (long) 0xF1D9C5B5A6998D81UL;
    __asm__("" : "+r"(lut0), "+r"(lut1));
    const __m512i lut = _mm512_broadcast_i32x4(_mm_insert_epi64(_mm_cvtsi64_si128(lut0), lut1, 1));
    /* The scratch path's memory (about 23 KiB, in L1): a block of the quad's four tiles unpacked, its factors, and
     * the float sums of up to 32 tokens */
    __attribute__((aligned(64))) unsigned char wv[4][1024];
    __attribute__((aligned(64))) float acc[32 * 128], scf[4][32], off[4][32];
    __attribute__((aligned(64))) int usc[4][2][32], mco[4][2][32];
    unsigned char *const wa = wv[0], *const wb = wv[1], *const wc = wv[2], *const wd = wv[3];
    const long from = args[11];
    for (long p = p0; p < p1; p++) {
        const long ta = p, tb = p + quads < tiles ? p + quads : p;
        const long tc = p + 2 * quads < tiles ? p + 2 * quads : p, td = p + 3 * quads < tiles ? p + 3 * quads : p;
        if (t1 - t0 >= from) {
            /* Several tokens: each block of the four tiles has its values put together once, into the scratch (Q8_0's
             * are bytes already and stay where they are), and every token's sums read them from there, as its
             * column-order FMAs, into acc. A token at a time (below), each token would put them together again. */
            for (long c0 = t0; c0 < t1; c0 += 32) {
                const long c1 = c0 + 32 < t1 ? c0 + 32 : t1;
                for (long b = 0; b < nb; b++) {
                    const unsigned char *const qa = packed + bytes * (ta * nb + b), *const qb = packed + bytes * (tb * nb + b);
                    const unsigned char *const qc = packed + bytes * (tc * nb + b), *const qd = packed + bytes * (td * nb + b);
                    const unsigned char *const ua = form == 1 ? qa : wa, *const ub = form == 1 ? qb : wb;
                    const unsigned char *const uc = form == 1 ? qc : wc, *const ud = form == 1 ? qd : wd;
                    if (b + 2 < nb) { /* the four tiles' block after next, toward L1 while this one's tokens run */
                        for (long o = 2 * bytes; o < 3 * bytes; o += 64) {
                            _mm_prefetch((const char *) (qa + o), _MM_HINT_T0);
                            _mm_prefetch((const char *) (qb + o), _MM_HINT_T0);
                            _mm_prefetch((const char *) (qc + o), _MM_HINT_T0);
                            _mm_prefetch((const char *) (qd + o), _MM_HINT_T0);
                        }
                    }
#define DOT DOT_STORE
                    if (form == 0) {
                        TILES(GROUP, 0)
                        TILES(GROUP, 1)
                        TILES(GROUP, 2)
                        TILES(GROUP, 3)
                    } else if (form == 2 || form == 6 || form == 7) {
                        UNIT4(FIVES, 0) UNIT4(FIVES, 1)
                    } else if (form == 10) {
                        UNIT4(THREE, 0) UNIT4(THREE, 1)
                    } else if (form == 11) {
                        UNIT4(TWO, 0) UNIT4(TWO, 1)
                    } else if (form != 1) {
#pragma GCC unroll 8
                        for (long s = 0; s < 8; s++) {
                            TILES(FOUR, s)
                        }
                    }
#undef DOT
                    FACTORS(a, 0)
                    FACTORS(b, 1)
                    FACTORS(c, 2)
                    FACTORS(d, 3)
                    for (long t = c0; t < c1; t++) {
                        const int *const xi = (const int *) (xp + (t - t0) * 18 * nb);
                        const short *const xs = xp + (t - t0) * 18 * nb + 16 * nb;
                        const __m512 dx = _mm512_set1_ps(xf[t * nb + b]);
                        float *const acct = acc + (t - c0) * 128;
                        __m512i sa0, sa1, sb0, sb1, sc0, sc1, sd0, sd1;
                        if (form == 0 || form == 10 || form == 11) {
                            sa0 = _mm512_setzero_si512(), sa1 = sa0, sb0 = sa0, sb1 = sa0, sc0 = sa0, sc1 = sa0, sd0 = sa0, sd1 = sa0;
#pragma GCC unroll 2
                            for (long j = 0; j < 2; j++) {
                                const __m512i cen = _mm512_set1_epi32((form == 0 ? -32 : form == 10 ? -4 : 0) * (int) xs[2 * b + j]);
                                __m512i aa0 = cen, aa1 = cen, ab0 = cen, ab1 = cen, ac0 = cen, ac1 = cen, ad0 = cen, ad1 = cen;
                                READ_UNIT(j)
                                UNIT_SCALE(a, 0, j)
                                UNIT_SCALE(b, 1, j)
                                UNIT_SCALE(c, 2, j)
                                UNIT_SCALE(d, 3, j)
                            }
                        } else {
                            const int center = form == 1 || form == 8 || form == 9 ? 128 : form == 4 ? 8 : form == 6 ? 16 : 0;
                            const __m512i cen = _mm512_set1_epi32(-center * ((int) xs[2 * b] + (int) xs[2 * b + 1]));
                            __m512i aa0 = cen, aa1 = cen, ab0 = cen, ab1 = cen, ac0 = cen, ac1 = cen, ad0 = cen, ad1 = cen;
                            READ_UNIT(0)
                            READ_UNIT(1)
                            sa0 = aa0, sa1 = aa1, sb0 = ab0, sb1 = ab1, sc0 = ac0, sc1 = ac1, sd0 = ad0, sd1 = ad1;
                        }
                        const __m512 sq = _mm512_set1_ps((float) ((int) xs[2 * b] + (int) xs[2 * b + 1]));
                        const __m512i sx0 = _mm512_set1_epi32(xs[2 * b]), sx1 = _mm512_set1_epi32(xs[2 * b + 1]);
                        FOLDS(a, 0)
                        FOLDS(b, 1)
                        FOLDS(c, 2)
                        FOLDS(d, 3)
                    }
                }
                for (long t = c0; t < c1; t++) {
                    const float *const acct = acc + (t - c0) * 128;
                    float *const yt = y + t * rows;
                    STORE(ta, _mm512_load_ps(acct), _mm512_load_ps(acct + 16))
                    STORE(tb, _mm512_load_ps(acct + 32), _mm512_load_ps(acct + 48))
                    STORE(tc, _mm512_load_ps(acct + 64), _mm512_load_ps(acct + 80))
                    STORE(td, _mm512_load_ps(acct + 96), _mm512_load_ps(acct + 112))
                }
            }
            continue;
        }
#define DOT DOT_SUM
        for (long t = t0; t < t1; t++) {
            const int *const xi = (const int *) (xp + (t - t0) * 18 * nb); /* four columns' bytes an int */
            const short *const xs = xp + (t - t0) * 18 * nb + 16 * nb;      /* each unit's sum(xq) */
            const float *const dxt = xf + t * nb;
            float *const yt = y + t * rows;
            __m512 fa0 = _mm512_setzero_ps(), fa1 = fa0, fb0 = fa0, fb1 = fa0, fc0 = fa0, fc1 = fa0, fd0 = fa0, fd1 = fa0;
            for (long b = 0; b < nb; b++) {
                const unsigned char *const qa = packed + bytes * (ta * nb + b), *const qb = packed + bytes * (tb * nb + b);
                const unsigned char *const qc = packed + bytes * (tc * nb + b), *const qd = packed + bytes * (td * nb + b);
                const __m512 dx = _mm512_set1_ps(dxt[b]);
                if (form == 11) { /* Q2_K: per unit T = sum(u xq), times the unit's scale; the mins times each unit's sum(xq) */
                    __m512i ia0 = _mm512_setzero_si512(), ia1 = ia0, ib0 = ia0, ib1 = ia0, ic0 = ia0, ic1 = ia0, id0 = ia0, id1 = ia0;
#pragma GCC unroll 2
                    for (long j = 0; j < 2; j++) {
                        __m512i aa0 = _mm512_setzero_si512(), aa1 = aa0, ab0 = aa0, ab1 = aa0, ac0 = aa0, ac1 = aa0, ad0 = aa0, ad1 = aa0;
                        { const __m512i xv = _mm512_set1_epi32(xi[8 * b + 4 * j]); TILES(TWO, j, 0) }
                        { const __m512i xv = _mm512_set1_epi32(xi[8 * b + 4 * j + 1]); TILES(TWO, j, 1) }
                        { const __m512i xv = _mm512_set1_epi32(xi[8 * b + 4 * j + 2]); TILES(TWO, j, 2) }
                        { const __m512i xv = _mm512_set1_epi32(xi[8 * b + 4 * j + 3]); TILES(TWO, j, 3) }
                        TILES(SCALE2, j)
                    }
                    const __m512i sx0 = _mm512_set1_epi32(xs[2 * b]), sx1 = _mm512_set1_epi32(xs[2 * b + 1]);
                    TILES(FOLD2)
                    continue;
                }
                if (form == 10) { /* Q3_K: per unit T = sum((u - 4) xq), times the unit's int8 scale, as Q6_K's */
                    __m512i ia0 = _mm512_setzero_si512(), ia1 = ia0, ib0 = ia0, ib1 = ia0, ic0 = ia0, ic1 = ia0, id0 = ia0, id1 = ia0;
#pragma GCC unroll 2
                    for (long j = 0; j < 2; j++) {
                        const __m512i cen = _mm512_set1_epi32(-4 * (int) xs[2 * b + j]);
                        __m512i aa0 = cen, aa1 = cen, ab0 = cen, ab1 = cen, ac0 = cen, ac1 = cen, ad0 = cen, ad1 = cen;
                        { const __m512i xv = _mm512_set1_epi32(xi[8 * b + 4 * j]); TILES(THREE, j, 0) }
                        { const __m512i xv = _mm512_set1_epi32(xi[8 * b + 4 * j + 1]); TILES(THREE, j, 1) }
                        { const __m512i xv = _mm512_set1_epi32(xi[8 * b + 4 * j + 2]); TILES(THREE, j, 2) }
                        { const __m512i xv = _mm512_set1_epi32(xi[8 * b + 4 * j + 3]); TILES(THREE, j, 3) }
                        TILES(SCALE, j, 384)
                    }
                    TILES(FOLD)
                    continue;
                }
                if (form == 9) { /* IQ4_XS: levels plus 128, the center off from the start */
                    const __m512i cen = _mm512_set1_epi32(-128 * ((int) xs[2 * b] + (int) xs[2 * b + 1]));
                    __m512i aa0 = cen, aa1 = cen, ab0 = cen, ab1 = cen, ac0 = cen, ac1 = cen, ad0 = cen, ad1 = cen;
                    FOUR_STEPS
                    TILES(FOLDX)
                    continue;
                }
                if (form >= 4) { /* Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL: the block's f16 scales (and offsets) after its values */
                    const long vb = form == 6 || form == 7 ? 640 : 512;
                    const int sx = (int) xs[2 * b] + (int) xs[2 * b + 1];
                    const int center = form == 4 ? 8 : form == 6 ? 16 : form == 8 ? 128 : 0;
                    const __m512i cen = _mm512_set1_epi32(-center * sx);
                    __m512i aa0 = cen, aa1 = cen, ab0 = cen, ab1 = cen, ac0 = cen, ac1 = cen, ad0 = cen, ad1 = cen;
                    if (form != 6 && form != 7) {
                        FOUR_STEPS
                    } else {
                        FIVE_STEPS
                    }
                    TILES(FOLDH, vb)
                    if (form == 5 || form == 7) {
                        const __m512 sq = _mm512_set1_ps((float) sx);
                        TILES(FOLDM, vb + 64)
                    }
                    continue;
                }
                if (form == 2 || form == 3) { /* Q5_K, Q4_K: no center */
                    __m512i aa0 = _mm512_setzero_si512(), aa1 = aa0, ab0 = aa0, ab1 = aa0, ac0 = aa0, ac1 = aa0, ad0 = aa0, ad1 = aa0;
                    if (form == 2) {
                        FIVE_STEPS
                    } else {
                        FOUR_STEPS
                    }
                    const __m512 sq = _mm512_set1_ps((float) ((int) xs[2 * b] + (int) xs[2 * b + 1]));
                    TILES(FOLD5)
                    continue;
                }
                if (form == 1) { /* Q8_0, its center off from the start */
                    const __m512i cen = _mm512_set1_epi32(-128 * ((int) xs[2 * b] + (int) xs[2 * b + 1]));
                    __m512i aa0 = cen, aa1 = cen, ab0 = cen, ab1 = cen, ac0 = cen, ac1 = cen, ad0 = cen, ad1 = cen;
#pragma GCC unroll 8
                    for (long s = 0; s < 8; s++) {
                        const __m512i xv = _mm512_set1_epi32(xi[8 * b + s]);
                        TILES(BYTES, s)
                    }
                    TILES(FOLDH, 1024)
                    continue;
                }
                __m512i ia0 = _mm512_setzero_si512(), ia1 = ia0, ib0 = ia0, ib1 = ia0, ic0 = ia0, ic1 = ia0, id0 = ia0, id1 = ia0;
#pragma GCC unroll 2
                for (long j = 0; j < 2; j++) {
                    const __m512i cen = _mm512_set1_epi32(-32 * (int) xs[2 * b + j]);
                    __m512i aa0 = cen, aa1 = cen, ab0 = cen, ab1 = cen, ac0 = cen, ac1 = cen, ad0 = cen, ad1 = cen;
                    {
                        const __m512i xv0 = _mm512_set1_epi32(xi[8 * b + 4 * j + 0]), xv1 = _mm512_set1_epi32(xi[8 * b + 4 * j + 1]);
                        TILES(GROUP, 2 * j)
                    }
                    {
                        const __m512i xv0 = _mm512_set1_epi32(xi[8 * b + 4 * j + 2]), xv1 = _mm512_set1_epi32(xi[8 * b + 4 * j + 3]);
                        TILES(GROUP, 2 * j + 1)
                    }
                    TILES(SCALE, j, 768)
                }
                TILES(FOLD)
            }
            STORE(ta, fa0, fa1)
            STORE(tb, fb0, fb1)
            STORE(tc, fc0, fc1)
            STORE(td, fd0, fd1)
        }
#undef DOT
    }
}
