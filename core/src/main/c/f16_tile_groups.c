/*
 * RedHare native kernel: fp8_tile_groups.c for row-major F16 or F32 weights (RowWidenedMatrix: F16Matrix, F32Matrix).
 * Their many-token pass (eight tokens and more: a prompt, or a decode step of several users) widened a column chunk of
 * five rows in Java (F16 through Float.float16ToFloat, one weight at a time, into a row buffer, then copied into the
 * tile), then ran every token group over the tile (f32_tile_groups.c). Here the first group widens each 64-column
 * group of the five rows into the tile (VCVTPH2PS, the exact value of every half, subnormals as normal floats, as
 * Float.float16ToFloat gives; F32 rows are copied) and takes its FMAs on the way. The tile holds the same floats and
 * every (row, token) sum takes the FMAs of FloatTiles.tile5tokens4 in its order, so the bits are the Java pass's
 * (WeightMatrixTest compares them).
 *
 * Arguments: args {blocks, groups, xo, full, to, ao, so, first, last, c0, half, rows[5]} (one array), xp, buf.
 * - half: 1 for F16 rows, 0 for F32. rows[i]: the address of row i's column c0; columns follow in order.
 * - The rest as in f32_tile_groups.c (tile at buf + to: block b, row i at + 160 b + 32 i, its first 16 columns then
 *   the next 16).
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.NativeCode carries.
 */
#include "widen_groups.h"

/* Columns 16 m .. 16 m + 15 of row I's 64-column group k as floats. */
#define ROW16(I, m) (half \
        ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (rows[I] + 128 * k + 32 * (m)))) \
        : _mm512_loadu_ps((const float *) (rows[I] + 256 * k + 64 * (m))))

/* Row I's 64 columns widened into blocks b and b + 1 of the tile; block b's FMAs taken on the way. */
#define WIDEN_ROW8(A, I) { \
        const __m512 we = ROW16(I, 0); \
        const __m512 wo = ROW16(I, 1); \
        _mm512_storeu_ps(t + 32 * (I), we); \
        _mm512_storeu_ps(t + 32 * (I) + 16, wo); \
        ROW_FMAS(A, we, wo) \
        _mm512_storeu_ps(t + 160 + 32 * (I), ROW16(I, 2)); \
        _mm512_storeu_ps(t + 160 + 32 * (I) + 16, ROW16(I, 3)); }

void f16_tile_groups(const long *args, const float *xp, float *buf) {
    GROUP_ARGS
    const long half = args[10];
    ROWS_AT(11)
    WIDEN_GROUPS_BODY
}
