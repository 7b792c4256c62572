/*
 * RedHare native kernel: one token through a run of whole FP8 tiles (Fp8BlockMatrix, rows of whole 64-column groups),
 * from the activations as they come to the outputs: each scale band's activation factors applied here, each row's sum
 * (fp8_rows4.c's FMAs, fp8_row.h) plus the Java kernel's empty tail (0.0f) times the row's factor, stored in y. A call
 * takes any number of bands, where fp8_rows4 takes one band (128 rows) and leaves the scaling of the activations (a
 * vector loop over the columns per band), the tails and the factors to Java: on rows of 896 columns that work, with the
 * call itself, came to about 5% of an FP8 one-thread decode (perf; docs/PERFORMANCE.md, fifty-third session). Same
 * multiplies, FMAs, lane sums and rounding as that path, so the same bits.
 *
 * Arguments: args = {codes (address of the first tile), tiles, cols (a multiple of 64), ahead (bytes to prefetch ahead),
 * r0 (the first tile's first row), band_rows (rows sharing one set of activation factors; a multiple of 4 unless one band
 * holds every row), nb (scale blocks per row), bw (columns per block: a multiple of 16, or at least cols when nb is 1)};
 * x: the activations (cols floats); xscales: band b's factor for block j at xscales[b * nb + j] (xscales[0] for all when
 * nb is 1); factors: row r's factor at factors[r]; y: row r's output at y[r]; scaled: room for cols floats.
 *
 * Built by scripts/native/build-kernels.sh into the bytes org.redhare.core.matrix.NativeCode carries.
 */
#include "fp8_row.h"

void fp8_decode(const long *args, const float *xin, const float *xscales, const float *factors, float *y, float *scaled) {
    const unsigned char *const codes = (const unsigned char *) args[0];
    const long tiles = args[1], cols = args[2], ahead = args[3], r0 = args[4], band_rows = args[5], nb = args[6], bw = args[7];
    const long full = cols;
    const float *const x = scaled;
    long band = -1, next = 0; /* the band whose factors are in scaled; the first row past it */
    for (long k = 0; k < tiles; k++) {
        const long r = r0 + 4 * k;
        if (r >= next) {
            band = r / band_rows;
            next = (band + 1) * band_rows;
            FP8_SCALE_BAND(scaled, xin, 1, band)
        }
        float s[4];
        ROWS4_TILE(FP8_ROW, 0, s)
        y[r] = (s[0] + 0.0f) * factors[r];
        y[r + 1] = (s[1] + 0.0f) * factors[r + 1];
        y[r + 2] = (s[2] + 0.0f) * factors[r + 2];
        y[r + 3] = (s[3] + 0.0f) * factors[r + 3];
    }
}
