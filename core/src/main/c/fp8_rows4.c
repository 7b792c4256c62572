/*
 * RedHare native kernel: FP8-E4M3 codes (Fp8BlockMatrix's tile layout) times one token's activations; see rows4.h
 * for the layout, the arguments and why the bits match the Java kernel. A code widens to the float with bits
 * ((code << 24) >> 4 arithmetic) & 0x87F00000: sign, exponent and mantissa in place, the value times 2^-120, which
 * the caller's activation scaling undoes. Subnormal codes come out as subnormal floats, exactly.
 *
 * The shifts run on 16-bit halves (AVX-512BW): a half's top byte shifted right by 4, arithmetic, lands where the float
 * wants it, so one shift of the group's vector v widens bytes 3 (top half) and 1 (bottom half, then moved up by 16),
 * and one of v shifted left by 8, whose halves' top bytes are bytes 2 and 0, widens those: five shifts and one load a
 * row and group, where shifting 32-bit lanes took seven shifts (each byte to the top, then down). Same floats as the
 * Java kernel's, so the same sums.
 * `QuickMatrixRates fp8 896x896 1 1` (in L2, one thread, AMD EPYC Zen 4): 23.6-23.8 -> 28.3-28.7 G weights/s.
 *
 * The shifted vector used to be a second load one byte before the group (one shift less), but a 64-byte load one byte
 * off crosses two cache lines every time, and reading from DRAM on an AMD EPYC Zen 5 host that cost a quarter of the
 * speed: [151936 x 896] one thread 16.7-20.0 GB/s with the load, 21.7-25.5 with the shift (a C harness as
 * fp8_decode.c's caller calls it; in cache 42.2 -> 46.4). On Zen 4 the two ran level in L2 (docs/PERFORMANCE.md,
 * sixty-fourth and sixty-ninth sessions).
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.NativeCode carries.
 */
#include "fp8_row.h"

void fp8_rows4(const unsigned char *codes, long tiles, long cols, long full, float *buf, long xo, long oo, long ahead) {
    ROWS4_LOOP(FP8_ROW, 0)
}
