package org.redhare.core.matrix;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.redhare.core.DType;
import org.redhare.core.Numbers;
import org.redhare.core.Parallel;

/** Q8_0 and Q4_0 kernels over random GGML blocks against a scalar reference decoded from the block layout, and the quantizers. */
class GgmlMatrixTest {
    private static final ValueLayout.OfShort LE_SHORT = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final Parallel ONE = new Parallel(1);
    private static final Parallel TWO = new Parallel(2);

    @AfterAll
    static void close() {
        ONE.close();
        TWO.close();
    }

    record Case(WeightMatrix m, double[] w) {}

    /** ggml's {@code kvalues_iq4nl}: the levels IQ4_NL and IQ4_XS nibbles select. */
    static final int[] IQ4 = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    /** Random blocks; the reference decodes them straight from the GGML definition. */
    static Case random(String type, int rows, int cols, long seed) {
        if (type.endsWith("_K") || type.startsWith("IQ4_XS") || type.contains("_K/")) {
            return randomK(type, rows, cols, seed);
        }
        Random rnd = new Random(seed);
        int nb = cols / 32;
        String format = type.replaceAll("/.*", ""); // the blocks; the type also says which class reads them
        int bytes = switch (format) {
            case "Q8_0" -> 34;
            case "Q5_0" -> 22;
            case "Q4_1" -> 20;
            case "Q5_1" -> 24;
            default -> 18;
        };
        MemorySegment blocks = Arena.ofAuto().allocate((long) rows * nb * bytes);
        double[] w = new double[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < nb; b++) {
                long o = ((long) r * nb + b) * bytes;
                short dh = Float.floatToFloat16((float) (rnd.nextGaussian() * 0.01));
                double d = Float.float16ToFloat(dh);
                blocks.set(LE_SHORT, o, dh);
                int y = r * cols + b * 32;
                switch (format) {
                    case "Q8_0" -> {
                        for (int i = 0; i < 32; i++) {
                            byte q = (byte) (rnd.nextInt(256) - 128);
                            blocks.set(ValueLayout.JAVA_BYTE, o + 2 + i, q);
                            w[y + i] = q * d;
                        }
                    }
                    case "Q5_0" -> { // ggml: x0 = (qs[j] & 15 | bit j of qh << 4) - 16, x1 = (qs[j] >> 4 | bit j+16 of qh << 4) - 16
                        int qh = rnd.nextInt();
                        blocks.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), o + 2, qh);
                        for (int j = 0; j < 16; j++) {
                            int v = rnd.nextInt(256);
                            blocks.set(ValueLayout.JAVA_BYTE, o + 6 + j, (byte) v);
                            w[y + j] = (((v & 0xF) | ((qh >>> j) & 1) << 4) - 16) * d;
                            w[y + 16 + j] = (((v >>> 4) | ((qh >>> (j + 16)) & 1) << 4) - 16) * d;
                        }
                    }
                    case "IQ4_NL" -> { // ggml: d * kvalues_iq4nl[nibble]
                        for (int j = 0; j < 16; j++) {
                            int v = rnd.nextInt(256);
                            blocks.set(ValueLayout.JAVA_BYTE, o + 2 + j, (byte) v);
                            w[y + j] = d * IQ4[v & 0xF];
                            w[y + 16 + j] = d * IQ4[v >>> 4];
                        }
                    }
                    case "Q5_1" -> { // ggml: x * d + m, fifth bits as Q5_0's
                        short mh = Float.floatToFloat16((float) (rnd.nextGaussian() * 0.05));
                        double m = Float.float16ToFloat(mh);
                        blocks.set(LE_SHORT, o + 2, mh);
                        int qh = rnd.nextInt();
                        blocks.set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN), o + 4, qh);
                        for (int j = 0; j < 16; j++) {
                            int v = rnd.nextInt(256);
                            blocks.set(ValueLayout.JAVA_BYTE, o + 8 + j, (byte) v);
                            w[y + j] = ((v & 0xF) | ((qh >>> j) & 1) << 4) * d + m;
                            w[y + 16 + j] = ((v >>> 4) | ((qh >>> (j + 16)) & 1) << 4) * d + m;
                        }
                    }
                    case "Q4_1" -> { // ggml: x * d + m
                        short mh = Float.floatToFloat16((float) (rnd.nextGaussian() * 0.05));
                        double m = Float.float16ToFloat(mh);
                        blocks.set(LE_SHORT, o + 2, mh);
                        for (int j = 0; j < 16; j++) {
                            int v = rnd.nextInt(256);
                            blocks.set(ValueLayout.JAVA_BYTE, o + 4 + j, (byte) v);
                            w[y + j] = (v & 0xF) * d + m;
                            w[y + 16 + j] = (v >>> 4) * d + m;
                        }
                    }
                    default -> {
                        for (int j = 0; j < 16; j++) {
                            int v = rnd.nextInt(256);
                            blocks.set(ValueLayout.JAVA_BYTE, o + 2 + j, (byte) v);
                            w[y + j] = ((v & 0xF) - 8) * d;
                            w[y + 16 + j] = ((v >>> 4) - 8) * d;
                        }
                    }
                }
            }
        }
        WeightMatrix m = switch (type) {
            case "Q8_0" -> Q8_0IntMatrix.runsHere() ? Q8_0IntMatrix.ofGgml(blocks, rows, cols) : Q8_0Matrix.ofGgml(blocks, rows, cols);
            case "Q8_0/float" -> Q8_0Matrix.ofGgml(blocks, rows, cols); // the float path, as where Q8_0IntMatrix's machine code does not run
            // in VNNI integers where that machine code runs; "/nibble" and "/float": the classes they take elsewhere
            case "Q5_0" -> BlockIntMatrix.runsHere(DType.Q5_0) ? BlockIntMatrix.ofGgml(DType.Q5_0, blocks, rows, cols) : Q5_0Matrix.ofGgml(blocks, rows, cols);
            case "Q5_0/nibble" -> Q5_0Matrix.ofGgml(blocks, rows, cols);
            case "Q4_1" -> BlockIntMatrix.runsHere(DType.Q4_1) ? BlockIntMatrix.ofGgml(DType.Q4_1, blocks, rows, cols) : Q4_KMatrix.ofGgmlQ4_1(blocks, rows, cols);
            case "Q4_1/nibble" -> Q4_KMatrix.ofGgmlQ4_1(blocks, rows, cols);
            case "Q5_1" -> BlockIntMatrix.runsHere(DType.Q5_1) ? BlockIntMatrix.ofGgml(DType.Q5_1, blocks, rows, cols) : AffineBlockMatrix.ofGgmlQ5_1(blocks, rows, cols);
            case "Q5_1/float" -> AffineBlockMatrix.ofGgmlQ5_1(blocks, rows, cols);
            case "IQ4_NL" -> BlockIntMatrix.runsHere(DType.IQ4_NL) ? BlockIntMatrix.ofGgml(DType.IQ4_NL, blocks, rows, cols) : Q8_0Matrix.ofGgmlIQ4_NL(blocks, rows, cols);
            case "IQ4_NL/float" -> Q8_0Matrix.ofGgmlIQ4_NL(blocks, rows, cols);
            case "Q4_0/nibble" -> Q4_0Matrix.ofGgml(blocks, rows, cols);
            default -> BlockIntMatrix.runsHere(DType.Q4_0) ? BlockIntMatrix.ofGgml(DType.Q4_0, blocks, rows, cols) : Q4_0Matrix.ofGgml(blocks, rows, cols);
        };
        return new Case(m, w);
    }

    /** Random Q4_K / Q6_K super-blocks, decoded by the reference from the ggml block definitions. */
    static Case randomK(String type, int rows, int cols, long seed) {
        Random rnd = new Random(seed);
        int sb = cols / 256;
        String reader = type; // which class reads the blocks; type: which blocks
        type = type.replaceAll("/.*", ""); // "/float", "/nibble": the path where the integer classes' machine code does not run
        int bytes = switch (type) {
            case "Q4_K" -> 144;
            case "Q5_K" -> 176;
            case "IQ4_XS" -> 136;
            case "Q2_K" -> 84;
            case "Q3_K" -> 110;
            default -> 210;
        };
        byte[] all = new byte[rows * sb * bytes];
        rnd.nextBytes(all);
        double[] w = new double[rows * cols];
        for (int b = 0; b < rows * sb; b++) {
            int o = b * bytes;
            int y0 = (b / sb) * cols + (b % sb) * 256;
            if (type.equals("Q2_K")) { // ggml dequantize_row_q2_K, loop for loop
                short dh = Float.floatToFloat16((float) (rnd.nextDouble() * 1e-3));
                short mh = Float.floatToFloat16((float) (rnd.nextDouble() * 1e-3));
                all[o + 80] = (byte) dh; all[o + 81] = (byte) (dh >> 8);
                all[o + 82] = (byte) mh; all[o + 83] = (byte) (mh >> 8);
                double d = Float.float16ToFloat(dh), min = Float.float16ToFloat(mh);
                int yi = y0, q = o + 16, is = 0;
                for (int n = 0; n < 256; n += 128) {
                    for (int j = 0, shift = 0; j < 4; j++, shift += 2) {
                        for (int half = 0; half < 2; half++) {
                            int sc = all[o + is++] & 0xFF;
                            for (int l = 0; l < 16; l++) {
                                w[yi++] = d * (sc & 0xF) * ((all[q + 16 * half + l] & 0xFF) >> shift & 3) - min * (sc >> 4);
                            }
                        }
                    }
                    q += 32;
                }
            } else if (type.equals("Q3_K")) { // ggml dequantize_row_q3_K, loop for loop (scales via the aux words)
                short dh = Float.floatToFloat16((float) (rnd.nextDouble() * 1e-3));
                all[o + 108] = (byte) dh; all[o + 109] = (byte) (dh >> 8);
                double dAll = Float.float16ToFloat(dh);
                java.nio.ByteBuffer sb12 = java.nio.ByteBuffer.wrap(all, o + 96, 12).order(java.nio.ByteOrder.LITTLE_ENDIAN);
                int[] aux = {sb12.getInt(), sb12.getInt(), sb12.getInt(), 0};
                int tmp = aux[2];
                aux[2] = ((aux[0] >>> 4) & 0x0f0f0f0f) | (((tmp >>> 4) & 0x03030303) << 4);
                aux[3] = ((aux[1] >>> 4) & 0x0f0f0f0f) | (((tmp >>> 6) & 0x03030303) << 4);
                aux[0] = (aux[0] & 0x0f0f0f0f) | ((tmp & 0x03030303) << 4);
                aux[1] = (aux[1] & 0x0f0f0f0f) | (((tmp >>> 2) & 0x03030303) << 4);
                int[] scales = new int[16];
                for (int i = 0; i < 16; i++) {
                    scales[i] = (byte) (aux[i / 4] >>> 8 * (i % 4));
                }
                int yi = y0, q = o + 32, is = 0, m = 1;
                for (int n = 0; n < 256; n += 128) {
                    for (int j = 0, shift = 0; j < 4; j++, shift += 2, m <<= 1) {
                        for (int half = 0; half < 2; half++) {
                            double dl = dAll * (scales[is++] - 32);
                            for (int l = 0; l < 16; l++) {
                                int hm = all[o + 16 * half + l] & 0xFF;
                                w[yi++] = dl * (((all[q + 16 * half + l] & 0xFF) >> shift & 3) - ((hm & m) != 0 ? 0 : 4));
                            }
                        }
                    }
                    q += 32;
                }
            } else if (type.equals("IQ4_XS")) { // ggml dequantize_row_iq4_xs: (float) (d * (ls - 32)) * kvalues_iq4nl[nibble]
                short dh = Float.floatToFloat16((float) (rnd.nextDouble() * 1e-3));
                all[o] = (byte) dh; all[o + 1] = (byte) (dh >> 8);
                float d = Float.float16ToFloat(dh);
                int high = (all[o + 2] & 0xFF) | (all[o + 3] & 0xFF) << 8;
                for (int ib = 0; ib < 8; ib++) {
                    int ls = ((all[o + 4 + ib / 2] & 0xFF) >> 4 * (ib % 2) & 0xF) | ((high >> 2 * ib) & 3) << 4;
                    float dl = d * (ls - 32);
                    for (int j = 0; j < 16; j++) {
                        int v = all[o + 8 + 16 * ib + j] & 0xFF;
                        w[y0 + 32 * ib + j] = (double) dl * IQ4[v & 0xF];
                        w[y0 + 32 * ib + 16 + j] = (double) dl * IQ4[v >> 4];
                    }
                }
            } else if (type.equals("Q5_K")) { // ggml dequantize_row_q5_K
                short dh = Float.floatToFloat16((float) (rnd.nextDouble() * 1e-3));
                short mh = Float.floatToFloat16((float) (rnd.nextDouble() * 1e-3));
                all[o] = (byte) dh; all[o + 1] = (byte) (dh >> 8);
                all[o + 2] = (byte) mh; all[o + 3] = (byte) (mh >> 8);
                double d = Float.float16ToFloat(dh), dmin = Float.float16ToFloat(mh);
                for (int j = 0; j < 4; j++) {
                    int[] s1 = scaleMin(2 * j, all, o + 4);
                    int[] s2 = scaleMin(2 * j + 1, all, o + 4);
                    for (int l = 0; l < 32; l++) {
                        int ql = all[o + 48 + 32 * j + l] & 0xFF;
                        int qh = all[o + 16 + l] & 0xFF;
                        w[y0 + 64 * j + l] = d * s1[0] * ((ql & 0xF) + ((qh & (1 << 2 * j)) != 0 ? 16 : 0)) - dmin * s1[1];
                        w[y0 + 64 * j + 32 + l] = d * s2[0] * ((ql >> 4) + ((qh & (2 << 2 * j)) != 0 ? 16 : 0)) - dmin * s2[1];
                    }
                }
            } else if (type.equals("Q4_K")) {
                short dh = Float.floatToFloat16((float) (rnd.nextDouble() * 1e-3));
                short mh = Float.floatToFloat16((float) (rnd.nextDouble() * 1e-3));
                all[o] = (byte) dh; all[o + 1] = (byte) (dh >> 8);
                all[o + 2] = (byte) mh; all[o + 3] = (byte) (mh >> 8);
                double d = Float.float16ToFloat(dh), dmin = Float.float16ToFloat(mh);
                int[] sc = new int[8], mn = new int[8];
                for (int j = 0; j < 8; j++) {
                    int[] s = scaleMin(j, all, o + 4);
                    sc[j] = s[0];
                    mn[j] = s[1];
                }
                for (int i = 0; i < 256; i++) {
                    int chunk = i / 64, within = i % 64;
                    int byt = all[o + 16 + chunk * 32 + within % 32] & 0xFF;
                    int q = within < 32 ? byt & 0xF : byt >> 4;
                    int sub = i / 32;
                    w[y0 + i] = d * sc[sub] * q - dmin * mn[sub];
                }
            } else {
                short dh = Float.floatToFloat16((float) (rnd.nextDouble() * 1e-3));
                all[o + 208] = (byte) dh; all[o + 209] = (byte) (dh >> 8);
                double d = Float.float16ToFloat(dh);
                for (int i = 0; i < 256; i++) {
                    int half = i / 128, j = i % 128, quarter = j / 32, l = j % 32;
                    int ql = all[o + half * 64 + (quarter % 2) * 32 + l] & 0xFF;
                    int low = quarter < 2 ? ql & 0xF : ql >> 4;
                    int high = (all[o + 128 + half * 32 + l] & 0xFF) >> (2 * quarter) & 3;
                    int q = (low | high << 4) - 32;
                    int sc = all[o + 192 + half * 8 + quarter * 2 + l / 16];
                    w[y0 + i] = d * sc * q;
                }
            }
        }
        MemorySegment seg = MemorySegment.ofArray(all);
        WeightMatrix m = switch (reader) {
            case "Q4_K" -> Q4_KIntMatrix.runsHere() ? Q4_KIntMatrix.ofGgml(seg, rows, cols) : Q4_KMatrix.ofGgml(seg, rows, cols);
            case "Q4_K/nibble" -> Q4_KMatrix.ofGgml(seg, rows, cols); // the 16-bit kernel, as where Q4_KIntMatrix's machine code does not run
            case "Q5_K" -> Q5_KMatrix.runsHere() ? Q5_KMatrix.ofGgml(seg, rows, cols) : AffineBlockMatrix.ofGgmlQ5_K(seg, rows, cols);
            case "Q5_K/float" -> AffineBlockMatrix.ofGgmlQ5_K(seg, rows, cols); // the float path, as where Q5_KMatrix's machine code does not run
            case "IQ4_XS" -> IQ4_XSIntMatrix.runsHere() ? IQ4_XSIntMatrix.ofGgml(seg, rows, cols) : Q8_0Matrix.ofGgmlIQ4_XS(seg, rows, cols);
            case "IQ4_XS/float" -> Q8_0Matrix.ofGgmlIQ4_XS(seg, rows, cols);
            case "Q2_K" -> Q2_KIntMatrix.runsHere() ? Q2_KIntMatrix.ofGgml(seg, rows, cols) : AffineBlockMatrix.ofGgmlQ2_K(seg, rows, cols);
            case "Q2_K/float" -> AffineBlockMatrix.ofGgmlQ2_K(seg, rows, cols);
            case "Q3_K" -> Q3_KIntMatrix.runsHere() ? Q3_KIntMatrix.ofGgml(seg, rows, cols) : Q8_0Matrix.ofGgmlQ3_K(seg, rows, cols);
            case "Q3_K/float" -> Q8_0Matrix.ofGgmlQ3_K(seg, rows, cols);
            case "Q6_K/float" -> Q8_0Matrix.ofGgmlQ6_K(seg, rows, cols); // the float path, as where Q6_KMatrix's machine code does not run
            default -> Q6_KMatrix.runsHere() ? Q6_KMatrix.ofGgml(seg, rows, cols) : Q8_0Matrix.ofGgmlQ6_K(seg, rows, cols);
        };
        return new Case(m, w);
    }

    /** The 6-bit scale and min of sub-block j from the 12 packed bytes at {@code at}. */
    static int[] scaleMin(int j, byte[] b, int at) {
        if (j < 4) {
            return new int[] {b[at + j] & 63, b[at + j + 4] & 63};
        }
        int sc = (b[at + j + 4] & 0xF) | ((b[at + j - 4] & 0xFF) >> 6) << 4;
        int m = ((b[at + j + 4] & 0xFF) >> 4) | ((b[at + j] & 0xFF) >> 6) << 4;
        return new int[] {sc, m};
    }

    @ParameterizedTest(name = "{0} [{1} x {2}] x {3} tokens")
    @CsvSource({
            "Q8_0, 1, 32, 1", "Q8_0, 5, 96, 1", "Q8_0, 7, 160, 3", "Q8_0, 33, 224, 17", "Q8_0, 64, 256, 4", "Q8_0, 130, 32, 5",
            "Q4_0, 1, 32, 1", "Q4_0, 5, 96, 1", "Q4_0, 7, 160, 3", "Q4_0, 33, 416, 17", "Q4_0, 64, 256, 4", "Q4_0, 130, 32, 5",
            "Q5_0, 1, 32, 1", "Q5_0, 7, 160, 3", "Q5_0, 33, 416, 17", "Q5_0, 13, 352, 37", "Q4_1, 1, 32, 1", "Q4_1, 7, 160, 3",
            "Q4_1, 33, 416, 17", "Q4_1, 13, 352, 37", "Q5_1, 1, 32, 1", "Q5_1, 7, 160, 3", "Q5_1, 33, 416, 17", "Q5_1, 13, 352, 37",
            "Q5_K, 1, 256, 1", "Q5_K, 7, 768, 3", "Q5_K, 33, 256, 17", "Q5_K, 13, 512, 37",
            "IQ4_NL, 1, 32, 1", "IQ4_NL, 7, 160, 3", "IQ4_NL, 33, 416, 17", "IQ4_NL, 13, 352, 37",
            "Q2_K, 1, 256, 1", "Q2_K, 7, 768, 3", "Q2_K, 33, 256, 17", "Q2_K, 13, 512, 37",
            "Q3_K, 1, 256, 1", "Q3_K, 7, 768, 3", "Q3_K, 33, 256, 17", "Q3_K, 13, 512, 37",
            "IQ4_XS, 1, 256, 1", "IQ4_XS, 7, 768, 3", "IQ4_XS, 33, 256, 17", "IQ4_XS, 13, 512, 37",
            "Q4_K, 1, 256, 1", "Q4_K, 7, 768, 3", "Q4_K, 33, 256, 17", "Q6_K, 1, 256, 1", "Q6_K, 9, 768, 3", "Q6_K, 33, 512, 17",
            // one token over many tiles: the one-token integer kernels take four tiles a pass, repeating the first where
            // fewer than four remain (7 and 8 tiles of 32 rows at 512-bit vectors, 25 and 29 of 8 at 128-bit)
            "Q4_0, 200, 96, 1", "Q4_0, 229, 416, 1", "Q4_K, 229, 768, 1", "Q4_K, 600, 512, 5", "Q5_0, 200, 160, 1", "Q5_0, 229, 352, 1", "Q4_1, 229, 160, 1", "Q4_K, 200, 256, 1",
            // the 8-bit one-token kernels take tiles of four rows two at a time, with the scales in tile order (pairs and a
            // row tail; columns past the last whole group of 4L)
            "Q8_0, 64, 256, 1", "Q8_0, 37, 1056, 1", "IQ4_NL, 37, 1056, 1", "Q6_K, 64, 512, 1", "Q6_K, 37, 1024, 1", "Q3_K, 37, 768, 1",
            // prompt path (widened tiles): a partial tile, tails, leftover tokens, and several token blocks
            "Q8_0, 13, 352, 37", "Q8_0, 9, 4128, 130", "Q6_K, 7, 512, 41", "Q6_K, 9, 4352, 130",
            // Q6_K in integers (Q6_KMatrix, where its machine code runs) and in floats (Q8_0Matrix, elsewhere) alike
            "Q6_K/float, 1, 256, 1", "Q6_K/float, 33, 512, 17", "Q6_K/float, 37, 1024, 1", "Q6_K/float, 9, 4352, 130",
            "Q6_K, 229, 768, 1", "Q6_K, 600, 512, 5", "Q6_K, 70, 4864, 3",
            // Q8_0 in integers (Q8_0IntMatrix, where its machine code runs) and in floats (Q8_0Matrix, elsewhere) alike
            "Q8_0/float, 1, 32, 1", "Q8_0/float, 33, 224, 17", "Q8_0/float, 37, 1056, 1", "Q8_0/float, 9, 4128, 130",
            "Q8_0, 229, 160, 1", "Q8_0, 600, 96, 5", "Q8_0, 70, 4864, 3",
            "Q5_K/float, 1, 256, 1", "Q5_K/float, 33, 256, 17", "Q5_K, 229, 768, 1", "Q5_K, 600, 512, 5", "Q5_K, 70, 4864, 3",
            // Q4_K in VNNI integers (Q4_KIntMatrix) and in 16-bit ones (Q4_KMatrix, elsewhere) alike
            "Q4_K/nibble, 1, 256, 1", "Q4_K/nibble, 33, 256, 17", "Q4_K/nibble, 229, 768, 1", "Q4_K, 70, 4864, 3", "Q4_K, 13, 512, 37",
            // Q4_0, Q4_1, Q5_0, Q5_1 in VNNI integers (BlockIntMatrix) and on the classes they take elsewhere
            "Q4_0/nibble, 7, 160, 3", "Q4_0/nibble, 229, 416, 1", "Q4_1/nibble, 33, 416, 17", "Q5_0/nibble, 13, 352, 37",
            "Q5_0/nibble, 229, 352, 1", "Q5_1/float, 33, 416, 17", "Q5_1/float, 9, 4128, 130", "Q5_0, 70, 4864, 3", "Q5_1, 600, 96, 5",
            // IQ4_NL and IQ4_XS in VNNI integers (levels looked up in the kernel) and in floats (Q8_0Matrix, elsewhere)
            "IQ4_NL/float, 7, 160, 3", "IQ4_NL/float, 37, 1056, 1", "IQ4_NL/float, 9, 4128, 130", "IQ4_NL, 229, 416, 1",
            "IQ4_XS/float, 7, 768, 3", "IQ4_XS/float, 33, 256, 17", "IQ4_XS, 229, 768, 1", "IQ4_XS, 70, 4864, 3",
            "Q3_K/float, 7, 768, 3", "Q3_K/float, 37, 768, 1", "Q3_K, 229, 768, 1", "Q3_K, 70, 4864, 3",
            "Q2_K/float, 7, 768, 3", "Q2_K/float, 33, 256, 17", "Q2_K, 229, 768, 1", "Q2_K, 70, 4864, 3"})
    void matchesScalarReference(String type, int rows, int cols, int n) {
        Case k = random(type, rows, cols, rows * 131L + cols);
        float[] x = Fp8BlockMatrixTest.activations(n, cols, 3);
        float[] y = new float[n * rows];
        k.m().multiply(ONE, x, n, y);
        if (type.startsWith("Q4_0") || type.startsWith("Q4_1") || type.startsWith("Q4_K") || type.startsWith("Q5_0") || k.m() instanceof VnniMatrix) { // integer kernels
            checkWithQuantizedActivations(k.w(), rows, cols, x, n, y);
        } else {
            Fp8BlockMatrixTest.checkAgainstReference(k.w(), rows, cols, x, n, y);
        }
        float[] y2 = new float[n * rows];
        k.m().multiply(TWO, x, n, y2);
        assertThat(y2).as("thread-count invariance").isEqualTo(y);
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            k.m().row(r, row, 0);
            for (int c = 0; c < cols; c++) {
                double ref = k.w()[r * cols + c];
                if ((type.startsWith("Q") && type.contains("_K") && !type.startsWith("Q4_K")) || type.startsWith("Q5_1")) { // offsets less 16 scales are rounded to float once at load
                    assertThat((double) row[c]).isCloseTo(ref, org.assertj.core.data.Offset.offset(Math.abs(ref) * 3e-7 + 1e-9));
                } else {
                    assertThat(row[c]).isEqualTo((float) ref);
                }
            }
        }
    }

    /**
     * Q4_0's 16-bit block sums at their extremes: all values 0 (weight -8d) or all 15 against activations of one size,
     * where the plain sum of {@code q * xq} (15 * 127 * 32 = 60960) does not fit in 16 bits but the sum less its offset
     * does (see {@code Q4_0Matrix.BLOCK_SUMS}).
     */
    @Test
    void q4_0BlockSumsAtTheirExtremes() {
        int rows = 37, cols = 96, n = 5;
        MemorySegment blocks = Arena.ofAuto().allocate((long) rows * 3 * 18);
        double[] w = new double[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int b = 0; b < 3; b++) {
                int q = (r + b) % 3 == 0 ? 0 : (r + b) % 3 == 1 ? 15 : (r % 2) * 15;
                long o = ((long) r * 3 + b) * 18;
                short dh = Float.floatToFloat16(0.5f + r * 0.01f);
                blocks.set(LE_SHORT, o, dh);
                for (int j = 0; j < 16; j++) {
                    blocks.set(ValueLayout.JAVA_BYTE, o + 2 + j, (byte) (q | q << 4));
                }
                for (int c = 0; c < 32; c++) {
                    w[r * cols + b * 32 + c] = (q - 8) * (double) Float.float16ToFloat(dh);
                }
            }
        }
        WeightMatrix m = Q4_0Matrix.ofGgml(blocks, rows, cols);
        float[] x = new float[n * cols];
        for (int t = 0; t < n; t++) {
            for (int c = 0; c < cols; c++) {
                x[t * cols + c] = t == 0 ? 1f : t == 1 ? -3f : (c / 32 + t) % 2 == 0 ? 2f : -2f;
            }
        }
        for (int tokens : new int[] {1, n}) {
            float[] y = new float[tokens * rows];
            m.multiply(ONE, x, tokens, y);
            checkWithQuantizedActivations(w, rows, cols, x, tokens, y);
            assertThat(y[0]).as("row 0, token 0: all q = 0 in block 0 (-8 * 0.5 * 32) then 15, then 0").isCloseTo((-8 * 32 + 7 * 32 - 8 * 32) * 0.5f, org.assertj.core.data.Offset.offset(1e-3f));
        }
    }

    /**
     * Q5_0's 16-bit sums at their extremes: rows of one value, which the encoder maps to the end of the range
     * ({@code q - 16 = -16}), against activations of one size: each 16-column span sums to 16 * 16 * 127 = 32512 in
     * size, the most {@code NibbleBlocks} allows (a span of 32 columns, tried by mistake, gave wrong sums here only).
     */
    @Test
    void q8TileGroupsKernelRefusesCodesAndScalesOutsideTheirMemory() {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeKernels.available(), NativeKernels.status());
        MemorySegment codes = Arena.ofAuto().allocate(5 * 128); // five rows of 128 codes, a row after another
        float[] scales = new float[4 * 4 + 2]; // four blocks of 32 columns a row: row i's scales at i, i + 4, i + 8, i + 12
        float[] buf = new float[4 * 160 + 2 * 320 + 40 + 2 * 4 * 128];
        int panels = 4 * 160 + 640 + 40;
        long[] offsets = {0, 128, 256, 384, 512}, strides = {64, 64, 64, 64, 64};
        int[] sbases = {0, 1, 2, 3, 4};
        NativeKernels.q8TileGroups(codes, offsets, strides, scales, sbases, 5, 4, 2, buf, panels, 128, buf, 0, 640, 1280, true, true, 0);
        assertThat(Arrays.copyOfRange(buf, 0, 640)).containsOnly(0f); // zero codes widen to zeros
        assertThat(Arrays.copyOfRange(buf, 1280, 1320)).containsOnly(0f);
        int[] pastScales = {0, 1, 2, 3, 6}; // the last row's fourth block scale at 18, past the array
        assertThatThrownBy(() -> NativeKernels.q8TileGroups(codes, offsets, strides, scales, pastScales, 5, 4, 2, buf, panels, 128, buf, 0, 640,
                1280, true, true, 0)).isInstanceOf(IndexOutOfBoundsException.class);
        long[] pastCodes = {0, 128, 256, 384, 577};
        assertThatThrownBy(() -> NativeKernels.q8TileGroups(codes, pastCodes, strides, scales, sbases, 5, 4, 2, buf, panels, 128, buf, 0, 640,
                1280, true, true, 0)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> NativeKernels.q8TileGroups(codes, offsets, strides, scales, sbases, 5, 3, 2, buf, panels, 128, buf, 0, 640,
                1280, true, true, 0)).isInstanceOf(IndexOutOfBoundsException.class); // half a 64-column group
        assertThatThrownBy(() -> NativeKernels.q8TileGroups(codes, offsets, strides, scales, sbases, 5, 4, 2, buf, panels, 128, buf, 0, 500,
                1280, true, true, 0)).isInstanceOf(IndexOutOfBoundsException.class); // accumulators over the tile
    }

    @Test
    void q5_0SumsAtTheirExtremes() {
        int rows = 21, cols = 512, n = 6;
        float[] w = new float[rows * cols];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                w[r * cols + c] = (r % 3 == 0 ? -1f : r % 3 == 1 ? 1f : (c / 64 % 2 == 0 ? 2f : -2f)) * (1 + r * 0.01f);
            }
        }
        int bytes = cols / 32 * 22;
        MemorySegment blocks = Arena.ofAuto().allocate((long) rows * bytes);
        for (int r = 0; r < rows; r++) {
            Quantizers.encodeQ5_0(w, r * cols, cols, blocks, (long) r * bytes);
        }
        WeightMatrix m = Q5_0Matrix.ofGgml(blocks, rows, cols);
        double[] decoded = new double[rows * cols];
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            m.row(r, row, 0);
            for (int c = 0; c < cols; c++) {
                decoded[r * cols + c] = row[c];
                assertThat(row[c]).as("Q5_0 [%d, %d] decodes close to the value", r, c).isCloseTo(w[r * cols + c], org.assertj.core.data.Offset.offset(0.1f));
            }
        }
        float[] x = new float[n * cols];
        for (int t = 0; t < n; t++) {
            for (int c = 0; c < cols; c++) {
                x[t * cols + c] = t == 0 ? 1f : t == 1 ? -3f : (c / 16 + t) % 2 == 0 ? 2f : -2f;
            }
        }
        for (int tokens : new int[] {1, n}) {
            float[] y = new float[tokens * rows];
            m.multiply(ONE, x, tokens, y);
            checkWithQuantizedActivations(decoded, rows, cols, x, tokens, y);
        }
    }

    /**
     * Q4_0, Q4_1, Q4_K and Q5_0 quantize each token's activations per 32-column block ({@link NibbleBlocks}): {@code dx = amax / 127},
     * {@code xq = rint(x * (1 / dx))}, ties to even. Checked two ways: against the exact sum over those quantized activations (in double;
     * only float rounding may differ), and against the float activations within the quantization's bound
     * ({@code dx / 2} per activation times the weight's size).
     */
    static void checkWithQuantizedActivations(double[] w, int rows, int cols, float[] x, int n, float[] y) {
        double[] xq = new double[cols];
        double[] half = new double[cols];
        for (int t = 0; t < n; t++) {
            for (int b = 0; b < cols / 32; b++) {
                float amax = 0;
                for (int c = b * 32; c < b * 32 + 32; c++) {
                    amax = Math.max(amax, Math.abs(x[t * cols + c]));
                }
                float dx = amax / 127f;
                float id = dx != 0 ? 1f / dx : 0f;
                for (int c = b * 32; c < b * 32 + 32; c++) {
                    xq[c] = Math.max(-127, Math.min(127, Math.rint(x[t * cols + c] * id))) * (double) dx;
                    half[c] = dx / 2.0;
                }
            }
            for (int r = 0; r < rows; r++) {
                double ref = 0, mag = 0, exact = 0, bound = 0;
                for (int c = 0; c < cols; c++) {
                    double wc = w[r * cols + c];
                    ref += wc * xq[c];
                    mag += Math.abs(wc * xq[c]);
                    exact += wc * x[t * cols + c];
                    bound += Math.abs(wc) * half[c];
                }
                double got = y[t * rows + r];
                assertThat(got).as("token %d row %d, quantized activations", t, r).isCloseTo(ref, org.assertj.core.data.Offset.offset(mag * 2e-6 + 1e-30));
                assertThat(got).as("token %d row %d, float activations", t, r).isCloseTo(exact, org.assertj.core.data.Offset.offset(bound * 1.001 + mag * 2e-6 + 1e-30));
            }
        }
    }

    /**
     * A token's result must not depend on the batch: n = 1 against every batch size up to one past the
     * prompt-kernel threshold plus a few, at every start, with one and two threads (rows not a multiple
     * of the tile, cols with a tail where the format allows).
     */
    @ParameterizedTest
    @CsvSource({"Q8_0", "Q8_0/float", "Q4_0", "Q4_K", "Q6_K", "Q6_K/float", "Q5_0", "Q4_1", "Q5_1", "Q5_K", "Q5_K/float", "Q4_K/nibble", "Q4_0/nibble", "Q5_0/nibble", "Q4_1/nibble", "Q5_1/float", "IQ4_NL", "IQ4_NL/float", "IQ4_XS", "IQ4_XS/float", "Q2_K", "Q2_K/float", "Q3_K", "Q3_K/float"})
    void batchedTokensAreBitwiseIdenticalToSingleTokens(String type) {
        int rows = 39, cols = type.contains("_K") || type.startsWith("IQ4_XS") ? 512 : 352, maxN = 36; // Q8_0-based types widen from 32 tokens
        Case k = random(type, rows, cols, 9);
        float[] x = Fp8BlockMatrixTest.activations(maxN, cols, 13);
        float[][] alone = new float[maxN][rows];
        for (int t = 0; t < maxN; t++) {
            k.m().multiply(ONE, Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, alone[t]);
        }
        for (Parallel pool : new Parallel[] {ONE, TWO}) {
            for (int n = 2; n <= maxN; n++) {
                for (int start = 0; start + n <= maxN; start += Math.max(1, n - 1)) {
                    float[] y = new float[n * rows];
                    k.m().multiply(pool, Arrays.copyOfRange(x, start * cols, (start + n) * cols), n, y);
                    for (int t = 0; t < n; t++) {
                        assertThat(Arrays.copyOfRange(y, t * rows, (t + 1) * rows))
                                .as("token %d of a batch of %d starting at %d, %d threads", start + t, n, start, pool.threads())
                                .isEqualTo(alone[start + t]);
                    }
                }
            }
        }
    }

    /**
     * On rows of whole 64-column groups one token runs the machine code ({@link NativeKernels#q8Decode}) wherever it can
     * run, and so do 2 to 16 tokens ({@link NativeKernels#q8Tokens}, in groups of up to five): the same bits as the Java
     * kernels ({@code Q8_0Matrix.multiplyInJava}), for blocks of 32 (Q8_0) and 16 (Q6_K), a short last tile, more tiles
     * than one call takes, every group size and more than one group, one and two threads.
     */
    @ParameterizedTest(name = "{0} [{1} x {2}]")
    @CsvSource({"Q8_0/float, 39, 384", "Q8_0/float, 1030, 64", "Q6_K/float, 37, 512", "IQ4_NL/float, 9, 4096", "Q8_0/float, 8, 352"})
    void tokensGiveTheJavaKernelsBits(String type, int rows, int cols) {
        if (org.redhare.core.MachineCode.unavailable() == null && org.redhare.core.MachineCode.cpuHas("avx512f")
                && org.redhare.core.MachineCode.cpuHas("avx512bw") && Kernels.L == 16
                && Boolean.parseBoolean(System.getProperty("redhare.nativeKernels", "true"))) {
            assertThat(NativeKernels.available()).as(NativeKernels.status()).isTrue();
        }
        Case k = random(type, rows, cols, rows + cols);
        Q8_0Matrix m = (Q8_0Matrix) k.m();
        for (int n : new int[] {1, 2, 3, 4, 5, 6, 11, 16}) {
            float[] x = Fp8BlockMatrixTest.activations(n, cols, 5 + n);
            float[] java = new float[n * rows];
            m.multiplyInJava(ONE, x, n, java);
            for (Parallel pool : new Parallel[] {ONE, TWO}) {
                float[] y = new float[n * rows];
                m.multiply(pool, x, n, y);
                assertThat(y).as("%d tokens, %d threads", n, pool.threads()).isEqualTo(java);
            }
        }
    }

    /**
     * The integer kernels run the machine code ({@link NativeKernels#nibbleTokens} on AVX-512 with 16-float vectors,
     * {@link Avx2Kernels#nibbleTokens} with 8-float ones, as on AVX2 CPUs and in the 256-bit test run) for any number of
     * tokens wherever it can run: the same bits as the Java kernels (one to fifteen tokens {@code NibbleBlocks.tiles4x1}
     * and {@code tiles4x1Bytes}, from sixteen the several-token kernel, and more than one block of sixteen) for Q4_0, float
     * offsets (Q4_1), Q4_K's factored scales (more than one chunk of super-blocks) and Q5_0's bytes, for a single tile (its
     * quad three times over), quads whose last tiles repeat the first, a short last tile, long rows, one and two threads.
     */
    @ParameterizedTest(name = "{0} [{1} x {2}]")
    @CsvSource({"Q4_0/nibble, 39, 352", "Q4_0/nibble, 1030, 64", "Q4_0/nibble, 200, 416", "Q4_0/nibble, 32, 32", "Q4_0/nibble, 129, 4864", "Q4_0/nibble, 7, 96",
            "Q4_1/nibble, 39, 352", "Q4_1/nibble, 229, 160", "Q4_1/nibble, 129, 4864", "Q4_K/nibble, 39, 256", "Q4_K/nibble, 229, 768", "Q4_K/nibble, 70, 4864", "Q4_K/nibble, 600, 512",
            "Q5_0/nibble, 39, 352", "Q5_0/nibble, 229, 160", "Q5_0/nibble, 129, 4864", "Q5_0/nibble, 7, 32", "Q5_0/nibble, 23, 64"})
    void nibbleTokensGiveTheJavaKernelsBits(String type, int rows, int cols) {
        boolean on = org.redhare.core.MachineCode.unavailable() == null && Boolean.parseBoolean(System.getProperty("redhare.nativeKernels", "true"));
        boolean runs = on && (Kernels.L == 16 ? org.redhare.core.MachineCode.cpuHas("avx512f") && org.redhare.core.MachineCode.cpuHas("avx512bw")
                : Kernels.L == 8 && org.redhare.core.MachineCode.cpuHas("avx2") && org.redhare.core.MachineCode.cpuHas("fma"));
        Case k = random(type, rows, cols, rows * 7L + cols);
        NibbleMatrix m = (NibbleMatrix) k.m();
        boolean natively = m.nativeTokens();
        assertThat(natively).as(NativeKernels.status() + "; " + Avx2Kernels.status()).isEqualTo(runs);
        for (int n : new int[] {1, 2, 3, 5, 11, 15, 16, 21, 37}) {
            float[] x = Fp8BlockMatrixTest.activations(n, cols, 3 + n);
            float[] java = new float[n * rows];
            m.multiplyInJava(ONE, x, n, java);
            for (Parallel pool : new Parallel[] {ONE, TWO}) {
                float[] y = new float[n * rows];
                k.m().multiply(pool, x, n, y);
                assertThat(y).as("%d tokens, %d threads", n, pool.threads()).isEqualTo(java);
            }
        }
    }

    /** The nibble kernels' Java entry ({@link NativeKernels#nibbleTokens}, {@link Avx2Kernels#nibbleTokens}). */
    @FunctionalInterface
    private interface NibbleKernel {
        void call(java.lang.foreign.MemorySegment packed, int nb, int tiles, int rows, int p0, int p1, int t0, int t1, int n, short[] xp,
                float[] xf, int form, float[] d, float[] o, int[] codes, float[] y, long ahead);
    }

    /** {@link NativeKernels#nibbleTokens} checks its operands before the machine code runs (it checks nothing). */
    @Test
    void nibbleTokensKernelRefusesOperandsOutsideTheirMemory() {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeKernels.available(), NativeKernels.status());
        refusesOperandsOutsideTheirMemory(NativeKernels::nibbleTokens, 32);
    }

    /** {@link Avx2Kernels#nibbleTokens} (tiles of 16 rows) checks its operands the same way. */
    @Test
    void avx2NibbleTokensKernelRefusesOperandsOutsideTheirMemory() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Avx2Kernels.nibblesAvailable(), Avx2Kernels.status());
        refusesOperandsOutsideTheirMemory(Avx2Kernels::nibbleTokens, 16);
    }

    /** {@link Avx2Kernels#vnniTokens} (every form it has) checks its operands before the machine code runs (it checks nothing). */
    @ParameterizedTest(name = "form {0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {0, 1, 2, 7, 8, 9, 10, 11})
    void avx2VnniTokensKernelRefusesOperandsOutsideTheirMemory(int form) {
        org.junit.jupiter.api.Assumptions.assumeTrue(Avx2Kernels.vnniAvailable(form), Avx2Kernels.status());
        int nb = 8, tiles = 5, rows = 150, n = 3, block = NativeKernels.vnniBlock(form); // quads of tiles {0, 2, 4} and {1, 3}
        int factors = form == 0 || form == 9 || form == 10 ? 4 : form == 2 || form == 11 ? 8 : 0; // floats a tile's block: d (and -dmin)
        java.lang.foreign.MemorySegment packed = java.lang.foreign.Arena.ofAuto().allocate((long) block * nb * tiles, 64);
        short[] xp = new short[18 * nb * n];
        float[] xf = new float[n * nb], d = new float[factors * nb * tiles], y = new float[n * rows];
        for (int o = 0; o < block * nb * tiles; o += block) { // Q8_0: values 0 (128 as stored)
            for (int i = 0; form == 1 && i < 1024; i++) packed.set(java.lang.foreign.ValueLayout.JAVA_BYTE, o + i, (byte) 128);
        }
        java.util.Arrays.fill(y, 1f);
        Avx2Kernels.vnniTokens(packed, form, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, d, y); // in bounds: zero values or scales give zeros
        assertThat(y).containsOnly(0f);
        assertThatThrownBy(() -> Avx2Kernels.vnniTokens(packed, form, nb, tiles, rows, 0, 3, 0, n, n, xp, xf, d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // a quad past the matrix
        assertThatThrownBy(() -> Avx2Kernels.vnniTokens(packed, form, nb, tiles + 1, rows + 32, 0, 2, 0, n, n, xp, xf,
                new float[factors * nb * (tiles + 1)], y)).isInstanceOf(IndexOutOfBoundsException.class); // a tile past the codes
        assertThatThrownBy(() -> Avx2Kernels.vnniTokens(packed, form, nb, tiles, rows + 11, 0, 2, 0, n, n, xp, xf, d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // rows past the tiles
        assertThatThrownBy(() -> Avx2Kernels.vnniTokens(packed, form, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, d, new float[n * rows - 1]))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last token's outputs past y
        assertThatThrownBy(() -> Avx2Kernels.vnniTokens(packed, form, nb, tiles, rows, 0, 2, 0, n, n, new short[18 * nb * n - 1], xf, d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last token's activations
        assertThatThrownBy(() -> Avx2Kernels.vnniTokens(packed, form, nb, tiles, rows, 0, 2, 0, n, n, xp, new float[n * nb - 1], d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last token's scales
        assertThatThrownBy(() -> Avx2Kernels.vnniTokens(packed, form, nb, tiles, rows, 0, 2, 1, n + 1, n, xp, xf, d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // a token past n
        assertThatThrownBy(() -> Avx2Kernels.vnniTokens(packed, 3, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, d, y))
                .isInstanceOf(IllegalArgumentException.class); // a form without an AVX2 kernel (Q4_K: NibbleBlocks)
        if (factors > 0) {
            assertThatThrownBy(() -> Avx2Kernels.vnniTokens(packed, form, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, new float[factors * nb * tiles - 1], y))
                    .isInstanceOf(IndexOutOfBoundsException.class); // the last tile's super-block factors
            assertThatThrownBy(() -> Avx2Kernels.vnniTokens(packed, form, 12, tiles, rows, 0, 2, 0, n, n, xp, xf, d, y))
                    .isInstanceOf(IndexOutOfBoundsException.class); // rows not of whole super-blocks
        }
    }

    /** Zero scales in bounds give zeros; each operand one element short, or a quad, tile, row or token too many, is refused. */
    private static void refusesOperandsOutsideTheirMemory(NibbleKernel kernel, int tr) {
        int nb = 8, tiles = 5, rows = 5 * tr - 10, n = 3; // quads of tiles {0, 2, 4, 0} and {1, 3, 1, 1}; one super-block a row
        int block = 16 * tr, lanes = tr / 2; // a tile's block of 32 columns: 8 steps of tr shorts; ints of codes per tile and block
        java.lang.foreign.MemorySegment packed = java.lang.foreign.Arena.ofAuto().allocate((long) block * nb * tiles, 64);
        short[] xp = new short[16 * nb * n];
        float[] xf = new float[2 * n * nb], d = new float[tr * nb * tiles], o = new float[tr * nb * tiles], y = new float[n * rows];
        float[] dsup = new float[tr * tiles], msup = new float[tr * tiles];
        int[] codes = new int[lanes * nb * tiles], none = new int[0];
        for (int form = 0; form < 3; form++) { // in bounds: zero scales give zeros
            java.util.Arrays.fill(y, 1f);
            kernel.call(packed, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, form, form == 2 ? dsup : d, form == 2 ? msup : o,
                    form == 2 ? codes : none, y, 0);
            assertThat(y).containsOnly(0f);
        }
        java.util.Arrays.fill(y, 1f); // bytes: twice the codes, and a sum per 16 columns
        kernel.call(java.lang.foreign.Arena.ofAuto().allocate(2L * block * nb * tiles, 64), nb, tiles, rows, 0, 2, 0, n, n, xp,
                new float[n * 3 * nb], 3, d, d, none, y, 0);
        assertThat(y).containsOnly(0f);
        assertThatThrownBy(() -> kernel.call(packed, nb, tiles, rows, 0, 3, 0, n, n, xp, xf, 0, d, d, none, y, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // a quad past the matrix
        assertThatThrownBy(() -> kernel.call(packed, nb, tiles + 1, rows + tr, 0, 2, 0, n, n, xp, xf, 0, d, d, none, y, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // a tile past the codes
        assertThatThrownBy(() -> kernel.call(packed, nb, tiles, rows + 11, 0, 2, 0, n, n, xp, xf, 0, d, d, none, y, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // rows past the tiles (and the outputs)
        assertThatThrownBy(() -> kernel.call(packed, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, 0, d, d, none, new float[n * rows - 1], 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last token's outputs past y
        assertThatThrownBy(() -> kernel.call(packed, nb, tiles, rows, 0, 2, 0, n, n, new short[16 * nb * n - 1], xf, 0, d, d, none, y, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last token's activations
        assertThatThrownBy(() -> kernel.call(packed, nb, tiles, rows, 0, 2, 0, n, n, xp, new float[2 * n * nb - 1], 0, d, d, none, y, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last token's sums
        assertThatThrownBy(() -> kernel.call(packed, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, 0, new float[tr * nb * tiles - 1], d, none, y, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last tile's scales
        assertThatThrownBy(() -> kernel.call(packed, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, 1, d, new float[tr * nb * tiles - 1], none, y, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last tile's offsets
        assertThatThrownBy(() -> kernel.call(packed, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, 2, dsup, new float[tr * tiles - 1], codes, y, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last tile's factors
        assertThatThrownBy(() -> kernel.call(packed, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, 2, dsup, msup, new int[lanes * nb * tiles - 1], y, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last tile's codes
        assertThatThrownBy(() -> kernel.call(packed, nb, tiles, rows, 0, 2, 0, n, n, xp, new float[n * 3 * nb], 3, d, d, none, y, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // bytes: twice the codes (past them) and a sum per 16 columns
        assertThatThrownBy(() -> kernel.call(packed, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, 4, d, d, codes, y, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // no such form
        assertThatThrownBy(() -> kernel.call(packed, nb, tiles, rows, 0, 2, 1, n + 1, n, xp, xf, 0, d, d, none, y, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // a token past n
        assertThatThrownBy(() -> kernel.call(packed, nb, tiles, rows, 0, 2, 0, n, n, xp, y, 0, d, d, none, y, 0))
                .isInstanceOf(IndexOutOfBoundsException.class); // the outputs over the sums
    }

    /**
     * Q6_K, Q8_0, Q5_K, Q4_K, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, IQ4_XS, Q3_K and Q2_K in integers run the machine code ({@link NativeKernels#vnniTokens}) for any number of tokens wherever
     * it can run (AVX-512 with VNNI): the same bits as their {@code multiplyInJava}, for a single tile (its quad four
     * times over), quads whose last tiles repeat the first, a short last tile, long rows, more than one block of sixteen
     * tokens, one and two threads.
     */
    @ParameterizedTest(name = "{0} [{1} x {2}]")
    @CsvSource({"Q6_K, 39, 256", "Q6_K, 229, 768", "Q6_K, 32, 256", "Q6_K, 7, 512", "Q6_K, 129, 4864", "Q6_K, 1030, 256",
            "Q8_0, 39, 352", "Q8_0, 229, 160", "Q8_0, 32, 32", "Q8_0, 7, 96", "Q8_0, 129, 4864", "Q8_0, 1030, 64",
            "Q5_K, 39, 256", "Q5_K, 229, 768", "Q5_K, 7, 512", "Q5_K, 129, 4864",
            "Q4_K, 39, 256", "Q4_K, 229, 768", "Q4_K, 7, 512", "Q4_K, 129, 4864", "Q4_K, 1030, 256",
            "Q4_0, 39, 352", "Q4_0, 1030, 64", "Q4_0, 7, 32", "Q4_1, 229, 160", "Q4_1, 129, 4864", "Q5_0, 39, 352", "Q5_0, 129, 4864",
            "Q5_0, 32, 32", "Q5_1, 229, 160", "Q5_1, 7, 96", "IQ4_NL, 39, 352", "IQ4_NL, 129, 4864", "IQ4_XS, 39, 256",
            "IQ4_XS, 229, 768", "IQ4_XS, 129, 4864", "Q3_K, 39, 256", "Q3_K, 229, 768", "Q3_K, 7, 512", "Q3_K, 129, 4864",
            "Q2_K, 39, 256", "Q2_K, 229, 768", "Q2_K, 7, 512", "Q2_K, 129, 4864"})
    void vnniTokensGiveTheJavaKernelsBits(String type, int rows, int cols) {
        boolean on = org.redhare.core.MachineCode.unavailable() == null && Boolean.parseBoolean(System.getProperty("redhare.nativeKernels", "true"));
        boolean runs = on && (Kernels.L == 16 && org.redhare.core.MachineCode.cpuHas("avx512f") && org.redhare.core.MachineCode.cpuHas("avx512bw")
                && org.redhare.core.MachineCode.cpuHas("avx512_vnni")
                || Kernels.L == 8 && !java.util.List.of("Q4_K", "Q4_0", "Q4_1", "Q5_0").contains(type) && org.redhare.core.MachineCode.cpuHas("avx2")
                && org.redhare.core.MachineCode.cpuHas("fma") && org.redhare.core.MachineCode.cpuHas("f16c"));
        Case k = random(type, rows, cols, rows * 5L + cols);
        org.junit.jupiter.api.Assumptions.assumeTrue(k.m() instanceof VnniMatrix,
                type + " takes another path here: " + NativeKernels.status() + "; " + Avx2Kernels.status());
        VnniMatrix v = (VnniMatrix) k.m();
        boolean natively = v.nativeTokens();
        assertThat(natively).as(NativeKernels.status() + "; " + Avx2Kernels.status()).isEqualTo(runs);
        if (runs && Kernels.L == 8) { // the AVX-VNNI builds where the CPU has it (the build's second 256-bit pass turns them off)
            assertThat(Avx2Kernels.status().contains("AVX-VNNI")).as(Avx2Kernels.status())
                    .isEqualTo(org.redhare.core.MachineCode.cpuHas("avx_vnni") && !"false".equals(System.getProperty("redhare.avxVnni")));
        }
        for (int n : new int[] {1, 2, 3, 5, 11, 16, 17, 37}) {
            float[] x = Fp8BlockMatrixTest.activations(n, cols, 7 + n);
            float[] java = new float[n * rows];
            v.multiplyInJava(ONE, x, n, java);
            for (Parallel pool : new Parallel[] {ONE, TWO}) {
                float[] y = new float[n * rows];
                k.m().multiply(pool, x, n, y);
                assertThat(y).as("%d tokens, %d threads", n, pool.threads()).isEqualTo(java);
            }
        }
    }

    /**
     * Q6_K's integer sums at their extremes: every value 0 (weight {@code -32 d sc}) with scales -128 and activations of
     * one size, so each 16-column sum is -65024 times the activation's sign and a block's two units' scaled sums
     * 16646144 in size, just below 2^24 (see {@code Q6_KMatrix}); and every value 63. A wrapped or saturated sum would be
     * far off: the result must equal the blocks' FMAs over the exact integer sums, and the exact value in double within
     * float rounding.
     */
    @Test
    void q6kSumsAtTheirExtremes() {
        int rows = 3, cols = 512;
        for (int u : new int[] {0, 63}) {
            byte[] all = new byte[rows * (cols / 256) * 210];
            for (int o = 0; o < all.length; o += 210) {
                int low = u & 0xF, high = u >> 4;
                java.util.Arrays.fill(all, o, o + 128, (byte) (low | low << 4));
                java.util.Arrays.fill(all, o + 128, o + 192, (byte) (high | high << 2 | high << 4 | high << 6));
                java.util.Arrays.fill(all, o + 192, o + 208, (byte) -128);
                short dh = Float.floatToFloat16(0.5f);
                all[o + 208] = (byte) dh;
                all[o + 209] = (byte) (dh >> 8);
            }
            WeightMatrix m = Q6_KMatrix.ofGgml(MemorySegment.ofArray(all), rows, cols);
            float[] x = new float[cols];
            for (int c = 0; c < cols; c++) {
                x[c] = c / 32 % 4 == 3 ? -3f : 3f; // quantized to 127 and -127 (a block of four negative), dx = 3f / 127f
            }
            float[] y = new float[rows];
            m.multiply(ONE, x, 1, y);
            float[] row = new float[cols];
            m.row(0, row, 0);
            assertThat(row[0]).isEqualTo(0.5f * -128 * (u - 32));
            float dx = 3f / 127f;
            float fmas = 0;
            double exact = 0;
            for (int c = 0; c < cols; c += 32) { // per block: fma(float(sc T0 + sc T1), d dx, acc), exact integers
                int sum = 0;
                for (int i = c; i < c + 32; i++) {
                    sum += -128 * (u - 32) * (x[i] > 0 ? 127 : -127);
                }
                assertThat(Math.abs(sum)).isLessThan(1 << 24).isGreaterThan(16_000_000);
                fmas = Math.fma((float) sum, 0.5f * dx, fmas);
                exact += sum * 0.5 * dx;
            }
            assertThat(Math.abs(exact)).isGreaterThan(1e5);
            for (int r = 0; r < rows; r++) {
                assertThat(y[r]).as("u = %d, row %d", u, r).isEqualTo(fmas);
                assertThat((double) y[r]).isCloseTo(exact, org.assertj.core.data.Offset.offset(Math.abs(exact) * 1e-6));
            }
        }
    }

    /** {@link NativeKernels#vnniTokens} checks its operands before the machine code runs (it checks nothing). */
    @Test
    void vnniTokensKernelRefusesOperandsOutsideTheirMemory() {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeKernels.vnniAvailable(), NativeKernels.status());
        int nb = 8, tiles = 5, rows = 150, n = 3; // quads of tiles {0, 2, 4, 0} and {1, 3, 1, 1}; one super-block a row
        MemorySegment packed = Arena.ofAuto().allocate(832L * nb * tiles, 64);
        short[] xp = new short[18 * nb * n];
        float[] xf = new float[n * nb], d = new float[32 * tiles], y = new float[n * rows];
        java.util.Arrays.fill(y, 1f); // in bounds: zero scales give zeros
        NativeKernels.vnniTokens(packed, 0, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, d, y);
        assertThat(y).containsOnly(0f);
        assertThatThrownBy(() -> NativeKernels.vnniTokens(packed, 0, nb, tiles, rows, 0, 3, 0, n, n, xp, xf, d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // a quad past the matrix
        assertThatThrownBy(() -> NativeKernels.vnniTokens(packed, 0, nb, tiles + 1, rows + 32, 0, 2, 0, n, n, xp, xf, d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // a tile past the values
        assertThatThrownBy(() -> NativeKernels.vnniTokens(packed, 0, nb, tiles, rows + 11, 0, 2, 0, n, n, xp, xf, d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // rows past the tiles (and the outputs)
        assertThatThrownBy(() -> NativeKernels.vnniTokens(packed, 0, 2 * nb, tiles, rows, 0, 2, 0, n, n, xp, xf, d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // longer rows than the values hold
        assertThatThrownBy(() -> NativeKernels.vnniTokens(packed, 0, nb - 4, tiles, rows, 0, 2, 0, n, n, xp, xf, d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // not whole super-blocks
        assertThatThrownBy(() -> NativeKernels.vnniTokens(packed, 0, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, d, new float[n * rows - 1]))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last token's outputs past y
        assertThatThrownBy(() -> NativeKernels.vnniTokens(packed, 0, nb, tiles, rows, 0, 2, 0, n, n, new short[18 * nb * n - 1], xf, d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last token's activations and sums
        assertThatThrownBy(() -> NativeKernels.vnniTokens(packed, 0, nb, tiles, rows, 0, 2, 0, n, n, xp, new float[n * nb - 1], d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last token's scales
        assertThatThrownBy(() -> NativeKernels.vnniTokens(packed, 0, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, new float[32 * tiles - 1], y))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last tile's super-block scales
        assertThatThrownBy(() -> NativeKernels.vnniTokens(packed, 0, nb, tiles, rows, 0, 2, 1, n + 1, n, xp, xf, d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // a token past n
        assertThatThrownBy(() -> NativeKernels.vnniTokens(packed, 0, nb, tiles, rows, 0, 2, 0, n, n, xp, y, d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // the outputs over the scales
        assertThatThrownBy(() -> NativeKernels.vnniTokens(packed, -1, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // no such form
        // Q8_0 (form 1): 1088 bytes a block, any number of blocks, no super-block scales
        MemorySegment q8 = Arena.ofAuto().allocate(1088L * 3 * tiles, 64);
        java.util.Arrays.fill(y, 1f); // in bounds: zero scales give zeros
        NativeKernels.vnniTokens(q8, 1, 3, tiles, rows, 0, 2, 0, n, n, xp, xf, new float[0], y);
        assertThat(y).containsOnly(0f);
        assertThatThrownBy(() -> NativeKernels.vnniTokens(packed, 1, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // Q8_0's blocks are longer: past the values
        assertThatThrownBy(() -> NativeKernels.vnniTokens(q8, 1, 4, tiles, rows, 0, 2, 0, n, n, xp, xf, d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // longer rows than the values hold
        // Q5_K (form 2): Q8_0's blocks, whole super-blocks, d and -dmin per super-block and row
        MemorySegment q5 = Arena.ofAuto().allocate(1088L * nb * tiles, 64);
        float[] dm = new float[64 * tiles];
        java.util.Arrays.fill(y, 1f); // in bounds: zero factors give zeros
        NativeKernels.vnniTokens(q5, 2, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, dm, y);
        assertThat(y).containsOnly(0f);
        assertThatThrownBy(() -> NativeKernels.vnniTokens(q5, 2, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, new float[64 * tiles - 1], y))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last tile's -dmin
        assertThatThrownBy(() -> NativeKernels.vnniTokens(q8, 2, 3, tiles, rows, 0, 2, 0, n, n, xp, xf, dm, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // not whole super-blocks
        // Q4_K (form 3): 576 bytes a block, factors as Q5_K's
        MemorySegment q4 = Arena.ofAuto().allocate(576L * nb * tiles, 64);
        java.util.Arrays.fill(y, 1f);
        NativeKernels.vnniTokens(q4, 3, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, dm, y);
        assertThat(y).containsOnly(0f);
        assertThatThrownBy(() -> NativeKernels.vnniTokens(q4, 3, 2 * nb, tiles, rows, 0, 2, 0, n, n, xp, xf, new float[128 * tiles], y))
                .isInstanceOf(IndexOutOfBoundsException.class); // longer rows than the values hold
        assertThatThrownBy(() -> NativeKernels.vnniTokens(q4, 3, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, new float[64 * tiles - 1], y))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last tile's -dmin
        // Q4_0, Q4_1, Q5_0, Q5_1 (forms 4 to 7): 576, 640, 704 and 768 bytes a block, any number of blocks, factors in the blocks
        MemorySegment q51 = Arena.ofAuto().allocate(768L * 3 * tiles, 64);
        for (int form = 4; form <= 7; form++) {
            java.util.Arrays.fill(y, 1f);
            NativeKernels.vnniTokens(q51, form, 3, tiles, rows, 0, 2, 0, n, n, xp, xf, new float[0], y);
            assertThat(y).as("form %d", form).containsOnly(0f);
        }
        assertThatThrownBy(() -> NativeKernels.vnniTokens(q51, 7, 4, tiles, rows, 0, 2, 0, n, n, xp, xf, new float[0], y))
                .isInstanceOf(IndexOutOfBoundsException.class); // longer rows than the values hold
        assertThatThrownBy(() -> NativeKernels.vnniTokens(q4, 5, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, new float[0], y))
                .isInstanceOf(IndexOutOfBoundsException.class); // Q4_1's blocks are longer than Q4_K's
        assertThatThrownBy(() -> NativeKernels.vnniTokens(q51, 12, 3, tiles, rows, 0, 2, 0, n, n, xp, xf, new float[0], y))
                .isInstanceOf(IndexOutOfBoundsException.class); // no such form
        // IQ4_XS (form 9): 544 bytes a block, whole super-blocks, d per super-block and row
        java.util.Arrays.fill(y, 1f);
        NativeKernels.vnniTokens(q4, 9, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, d, y);
        assertThat(y).containsOnly(0f);
        assertThatThrownBy(() -> NativeKernels.vnniTokens(q4, 9, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, new float[32 * tiles - 1], y))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last tile's d
        assertThatThrownBy(() -> NativeKernels.vnniTokens(q51, 9, 3, tiles, rows, 0, 2, 0, n, n, xp, xf, d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // not whole super-blocks
        // Q3_K (form 10): 448 bytes a block, whole super-blocks, d per super-block and row
        MemorySegment q3 = Arena.ofAuto().allocate(448L * nb * tiles, 64);
        java.util.Arrays.fill(y, 1f);
        NativeKernels.vnniTokens(q3, 10, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, d, y);
        assertThat(y).containsOnly(0f);
        assertThatThrownBy(() -> NativeKernels.vnniTokens(q3, 9, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // IQ4_XS's blocks are longer than Q3_K's
        // Q2_K (form 11): 320 bytes a block, whole super-blocks, d and -dmin per super-block and row
        java.util.Arrays.fill(y, 1f);
        NativeKernels.vnniTokens(q3, 11, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, dm, y);
        assertThat(y).containsOnly(0f);
        assertThatThrownBy(() -> NativeKernels.vnniTokens(q3, 11, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, d, y))
                .isInstanceOf(IndexOutOfBoundsException.class); // -dmin missing
        assertThatThrownBy(() -> NativeKernels.vnniTokens(q3, 10, nb, tiles, rows, 0, 2, 0, n, n, xp, xf, new float[32 * tiles - 1], y))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last tile's d
    }

    /** {@link NativeKernels#q8Tokens} checks its operands before the machine code runs (it checks nothing). */
    @Test
    void q8TokensKernelRefusesOperandsOutsideTheirMemory() {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeKernels.available(), NativeKernels.status());
        java.lang.foreign.MemorySegment codes = java.lang.foreign.Arena.ofAuto().allocate(4 * 128 * 2, 64); // two tiles of 128 columns
        float[] x = new float[3 * 128], y = new float[2 * 10 + 8], scales = new float[2 * 4 * 4], scratch = new float[3 * 128 + 15];
        NativeKernels.q8Tokens(codes, 0, 2, 128, 5, 4, scales, 0, 3, 10, x, y, 0, scratch, 4096); // in bounds: zero codes give zeros
        assertThat(y).containsOnly(0f);
        assertThatThrownBy(() -> NativeKernels.q8Tokens(codes, 0, 2, 128, 5, 4, scales, 0, 3, 10, x, y, 1, scratch, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // the last token's outputs past y
        assertThatThrownBy(() -> NativeKernels.q8Tokens(codes, 0, 2, 128, 5, 4, scales, 0, 3, 7, x, y, 0, scratch, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // tokens' outputs overlapping
        assertThatThrownBy(() -> NativeKernels.q8Tokens(codes, 0, 2, 128, 5, 4, scales, 0, 4, 10, x, y, 0, scratch, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // a fourth token past the activations
        assertThatThrownBy(() -> NativeKernels.q8Tokens(codes, 0, 2, 128, 5, 4, scales, 0, 3, 10, x, y, 0, new float[3 * 128], 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // no room to align the copy
        assertThatThrownBy(() -> NativeKernels.q8Tokens(codes, 0, 3, 128, 5, 4, scales, 0, 3, 10, x, y, 0, scratch, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // past the codes
        assertThatThrownBy(() -> NativeKernels.q8Tokens(codes, 0, 2, 128, 5, 4, scales, 1, 3, 10, x, y, 0, scratch, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // past the scales
        assertThatThrownBy(() -> NativeKernels.q8Tokens(codes, 0, 2, 128, 5, 4, scales, 0, 3, 10, x, y, 0, x, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // the copy over the activations
    }

    /** {@link NativeKernels#q8Decode} checks its operands before the machine code runs (it checks nothing). */
    @Test
    void q8DecodeKernelRefusesOperandsOutsideTheirMemory() {
        org.junit.jupiter.api.Assumptions.assumeTrue(NativeKernels.available(), NativeKernels.status());
        java.lang.foreign.MemorySegment codes = java.lang.foreign.Arena.ofAuto().allocate(4 * 128 * 2, 64); // two tiles of 128 columns
        float[] x = new float[128], y = new float[8], scales = new float[2 * 4 * 4];
        NativeKernels.q8Decode(codes, 0, 2, 128, 5, 4, scales, 0, x, y, 0, 4096); // in bounds: zero codes give zeros
        assertThat(y).containsOnly(0f);
        assertThatThrownBy(() -> NativeKernels.q8Decode(codes, 0, 3, 128, 5, 4, scales, 0, x, y, 0, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // past the codes
        assertThatThrownBy(() -> NativeKernels.q8Decode(codes, 0, 2, 128, 5, 4, scales, 1, x, y, 0, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // past the scales
        assertThatThrownBy(() -> NativeKernels.q8Decode(codes, 0, 2, 128, 5, 3, scales, 0, x, y, 0, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // blocks that do not cover the row
        assertThatThrownBy(() -> NativeKernels.q8Decode(codes, 0, 2, 128, 3, 16, scales, 0, x, y, 0, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // blocks narrower than a vector
        assertThatThrownBy(() -> NativeKernels.q8Decode(codes, 0, 2, 128, 5, 4, scales, 0, x, y, 1, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // outputs past y
        assertThatThrownBy(() -> NativeKernels.q8Decode(codes, 0, 1, 96, 5, 3, scales, 0, x, y, 0, 4096))
                .isInstanceOf(IndexOutOfBoundsException.class); // not whole groups
        assertThatThrownBy(() -> NativeKernels.q8Decode(java.lang.foreign.MemorySegment.ofArray(new byte[1024]), 0, 2, 128, 5, 4, scales, 0,
                x, y, 0, 4096)).isInstanceOf(IndexOutOfBoundsException.class); // not native memory
    }

    /**
     * Long rows on the prompt kernels: columns in chunks, tokens in blocks of 60 (130 tokens: three blocks, the
     * last with two tokens past its last group of four), rows not a multiple of the tile. Either way n = 1's bits.
     */
    @ParameterizedTest
    @CsvSource({"Q8_0, 4128", "Q8_0/float, 4128", "Q6_K, 4352", "Q6_K/float, 4352", "Q4_0, 4128", "Q4_K, 4352", "Q5_0, 4128", "Q4_1, 4128", "Q5_1, 4128", "Q5_K, 4352", "Q5_K/float, 4352", "Q4_K/nibble, 4352", "Q4_0/nibble, 4128", "Q5_0/nibble, 4128", "Q4_1/nibble, 4128", "Q5_1/float, 4128", "IQ4_NL, 4128", "IQ4_NL/float, 4128", "IQ4_XS, 4352", "IQ4_XS/float, 4352", "Q2_K, 4352", "Q2_K/float, 4352", "Q3_K, 4352", "Q3_K/float, 4352"})
    void tokenBlocksOfLongPromptsAreBitwiseIdenticalToSingleTokens(String type, int cols) {
        int rows = 9, maxN = 130;
        Case k = random(type, rows, cols, 21);
        float[] x = Fp8BlockMatrixTest.activations(maxN, cols, 23);
        float[][] alone = new float[maxN][rows];
        for (int t = 0; t < maxN; t++) {
            k.m().multiply(ONE, Arrays.copyOfRange(x, t * cols, (t + 1) * cols), 1, alone[t]);
        }
        for (int n : new int[] {66, 130}) {
            for (Parallel pool : new Parallel[] {ONE, TWO}) {
                float[] y = new float[n * rows];
                k.m().multiply(pool, Arrays.copyOfRange(x, 0, n * cols), n, y);
                for (int t = 0; t < n; t++) {
                    assertThat(Arrays.copyOfRange(y, t * rows, (t + 1) * rows)).as("token %d of %d, %d threads", t, n, pool.threads())
                            .isEqualTo(alone[t]);
                }
            }
        }
    }

    static float[] gaussian(int n, long seed) {
        Random rnd = new Random(seed);
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) (rnd.nextGaussian() * 0.05);
        }
        return w;
    }

    @Test
    void quantizersStayWithinTheirStepSize() {
        int rows = 19, cols = 160;
        float[] w = gaussian(rows * cols, 1);
        WeightMatrix q8 = Quantizers.q8_0(w, rows, cols);
        WeightMatrix q4 = Quantizers.q4_0(w, rows, cols);
        WeightMatrix f8 = Quantizers.fp8(w, rows, cols);
        MemorySegment q5blocks = Arena.ofAuto().allocate((long) rows * (cols / 32) * 22);
        for (int r = 0; r < rows; r++) {
            Quantizers.encodeQ5_0(w, r * cols, cols, q5blocks, (long) r * (cols / 32) * 22);
        }
        WeightMatrix q5 = Q5_0Matrix.ofGgml(q5blocks, rows, cols);
        float[] r8 = new float[cols], r4 = new float[cols], rf = new float[cols], r5 = new float[cols];
        for (int r = 0; r < rows; r++) {
            q8.row(r, r8, 0);
            q4.row(r, r4, 0);
            f8.row(r, rf, 0);
            q5.row(r, r5, 0);
            for (int b = 0; b < cols / 32; b++) {
                float amax = 0;
                for (int i = 0; i < 32; i++) {
                    amax = Math.max(amax, Math.abs(w[r * cols + b * 32 + i]));
                }
                for (int i = 0; i < 32; i++) {
                    int c = b * 32 + i;
                    float v = w[r * cols + c];
                    assertThat(Math.abs(r8[c] - v)).as("Q8_0 [%d, %d]", r, c).isLessThanOrEqualTo(amax / 127 * 0.51f + 1e-6f);
                    assertThat(Math.abs(r4[c] - v)).as("Q4_0 [%d, %d]", r, c).isLessThanOrEqualTo(amax / 8 * 1.01f + 1e-6f); // 16 levels: the side opposite the largest value clamps by up to one step
                    assertThat(Math.abs(rf[c] - v)).as("FP8 [%d, %d]", r, c).isLessThanOrEqualTo(Math.abs(v) / 16 + 1e-6f);
                    assertThat(Math.abs(r5[c] - v)).as("Q5_0 [%d, %d]", r, c).isLessThanOrEqualTo(amax / 16 * 1.01f + 1e-6f);
                }
            }
        }
    }

    /**
     * Q4_K's encoder, read back by the GGUF decoder: each value within half its sub-block's step plus what rounding
     * the 6-bit factors to multiples of d and dmin (the largest over 63) can add; and on average well inside a step.
     */
    @Test
    void q4kQuantizerStaysWithinItsStepSize() {
        int rows = 7, cols = 512;
        float[] w = gaussian(rows * cols, 4);
        for (int i = 0; i < 256; i++) {
            w[i] = Math.abs(w[i]) + 1f; // a super-block with no negative values (min 0)
        }
        MemorySegment blocks = Arena.ofAuto().allocate((long) rows * (cols / 256) * 144);
        for (int r = 0; r < rows; r++) {
            Quantizers.encodeQ4_K(w, r * cols, cols, blocks, (long) r * (cols / 256) * 144);
        }
        WeightMatrix m = Q4_KMatrix.ofGgml(blocks, rows, cols);
        float[] row = new float[cols];
        double errors = 0, steps = 0;
        for (int r = 0; r < rows; r++) {
            m.row(r, row, 0);
            for (int sb = 0; sb < cols / 256; sb++) {
                float[] lo = new float[8], step = new float[8];
                float maxScale = 0, maxMin = 0;
                for (int j = 0; j < 8; j++) {
                    float l = 0, h = -Float.MAX_VALUE;
                    for (int i = 0; i < 32; i++) {
                        l = Math.min(l, w[r * cols + sb * 256 + 32 * j + i]);
                        h = Math.max(h, w[r * cols + sb * 256 + 32 * j + i]);
                    }
                    lo[j] = l;
                    step[j] = (h - l) / 15;
                    maxScale = Math.max(maxScale, step[j]);
                    maxMin = Math.max(maxMin, -l);
                }
                for (int j = 0; j < 8; j++) {
                    float bound = step[j] / 2 + (15 * maxScale + maxMin) / 126 * 1.01f + 1e-5f;
                    for (int i = 0; i < 32; i++) {
                        int c = sb * 256 + 32 * j + i;
                        double e = Math.abs(row[c] - w[r * cols + c]);
                        assertThat(e).as("Q4_K [%d, %d]", r, c).isLessThanOrEqualTo(bound);
                        errors += e;
                        steps += step[j];
                    }
                }
            }
        }
        assertThat(errors / steps).as("mean error in steps").isLessThan(0.35);
        assertThatThrownBy(() -> Quantizers.encodeQ4_K(w, 0, 300, blocks, 0)).hasMessageContaining("256");
    }

    /**
     * Q6_K's encoder, read back by the GGUF decoder: each value within a step of its sub-block (half a step but on the
     * clamped side) plus what rounding the int8 scale to a multiple of d (the largest scale over 127) can add; a zero
     * sub-block reads back as zeros; and on average well inside a step.
     */
    @Test
    void q6kQuantizerStaysWithinItsStepSize() {
        int rows = 5, cols = 512;
        float[] w = gaussian(rows * cols, 6);
        for (int i = 0; i < 16; i++) {
            w[256 + i] = 0f; // a sub-block of zeros: scale 0
        }
        MemorySegment blocks = Arena.ofAuto().allocate((long) rows * (cols / 256) * 210);
        for (int r = 0; r < rows; r++) {
            Quantizers.encodeQ6_K(w, r * cols, cols, blocks, (long) r * (cols / 256) * 210);
        }
        WeightMatrix m = Q8_0Matrix.ofGgmlQ6_K(blocks, rows, cols);
        float[] row = new float[cols];
        double errors = 0, steps = 0;
        for (int r = 0; r < rows; r++) {
            m.row(r, row, 0);
            for (int sb = 0; sb < cols / 256; sb++) {
                float[] step = new float[16];
                float maxStep = 0;
                for (int j = 0; j < 16; j++) {
                    for (int i = 0; i < 16; i++) {
                        step[j] = Math.max(step[j], Math.abs(w[r * cols + sb * 256 + 16 * j + i]) / 32);
                    }
                    maxStep = Math.max(maxStep, step[j]);
                }
                for (int j = 0; j < 16; j++) {
                    // half a step, or a whole one on the side opposite the largest magnitude (clamped at +31), plus 32
                    // times what rounding the scale to a multiple of d can move it
                    float bound = step[j] + maxStep / 127 / 2 * 32 * 1.01f + 1e-6f;
                    for (int i = 0; i < 16; i++) {
                        int c = sb * 256 + 16 * j + i;
                        double e = Math.abs(row[c] - w[r * cols + c]);
                        assertThat(e).as("Q6_K [%d, %d]", r, c).isLessThanOrEqualTo(bound);
                        errors += e;
                        steps += step[j];
                    }
                }
            }
        }
        float[] first = new float[cols];
        m.row(0, first, 0);
        for (int i = 0; i < 16; i++) {
            assertThat(first[256 + i]).as("zero sub-block").isEqualTo(0f);
        }
        assertThat(errors / steps).as("mean error in steps").isLessThan(0.3);
        assertThatThrownBy(() -> Quantizers.encodeQ6_K(w, 0, 300, blocks, 0)).hasMessageContaining("256");
    }

    @Test
    void fp8QuantizerSaturatesWithoutNaNCodes() {
        float[] w = {1e30f, -1e30f, 3f, Float.MIN_VALUE, 0f, -0f, 1f, 2f};
        Quantizers.Fp8 q = Quantizers.toFp8(w, 1, w.length);
        float scale = q.scales().getAtIndex(LE_FLOAT, 0);
        assertThat(scale).isEqualTo(1e30f / 448f);
        for (int i = 0; i < w.length; i++) {
            byte code = q.codes().get(ValueLayout.JAVA_BYTE, i);
            assertThat(code & 0x7F).as("code %d", i).isNotEqualTo(0x7F);
        }
        assertThat(q.codes().get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 0x7E); // +448
        assertThat(q.codes().get(ValueLayout.JAVA_BYTE, 1)).isEqualTo((byte) 0xFE); // -448
        // Values past the block maximum (only possible with a given scale) saturate in the code encoder too.
        assertThat(Numbers.floatToE4m3(1e6f)).isEqualTo((byte) 0x7E);
        assertThat(Numbers.floatToE4m3(-500f)).isEqualTo((byte) 0xFE);
    }

    @Test
    void rejectsMalformedBlocks() {
        MemorySegment small = Arena.ofAuto().allocate(33);
        assertThatThrownBy(() -> Q8_0Matrix.ofGgml(small, 1, 32)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("needs 34 bytes");
        assertThatThrownBy(() -> Q4_0Matrix.ofGgml(small, 1, 30)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("multiple of 32");
        assertThatThrownBy(() -> Quantizers.q4_0(new float[20], 1, 20)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("blocks of 32");
    }
}
