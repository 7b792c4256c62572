/*
 * Shared by the kernels over tiles of 32 rows, two 16-float accumulators a tile (nibble_tokens.c, vnni_tokens.h): a tile's
 * outputs to memory. Expects rows (the matrix's) and yt (the token's outputs) in scope.
 */
/* Tile T's 32 outputs (F0: rows 0..15, F1: 16..31) to y, clipped to the matrix's rows. */
#define STORE(T, F0, F1) { \
        const long left = rows - 32 * (T); \
        float *const out = yt + 32 * (T); \
        if (left >= 32) { \
            _mm512_storeu_ps(out, F0); \
            _mm512_storeu_ps(out + 16, F1); \
        } else if (left > 16) { \
            _mm512_storeu_ps(out, F0); \
            _mm512_mask_storeu_ps(out + 16, (__mmask16) ((1 << (left - 16)) - 1), F1); \
        } else { \
            _mm512_mask_storeu_ps(out, (__mmask16) ((1 << left) - 1), F0); \
        } }
