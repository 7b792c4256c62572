package org.redhare.engine;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Reference logits saved by {@code perplexity --kl-base} and compared by {@code --kl}: a header
 * ({@code "RHKL"}, version 1, positions, vocab, the token ids) then each position's logits as
 * little-endian float32. Comparing streams position by position, so neither file is held in memory.
 */
public final class LogitsFile {
    private static final int MAGIC = 0x4C4B4852; // "RHKL" little-endian
    private LogitsFile() {}

    /** Writes the header; rows follow with {@link Writer#row}. */
    public static final class Writer implements AutoCloseable {
        private final DataOutputStream out;
        private final ByteBuffer row;

        public Writer(Path file, int[] tokens, int vocab) throws IOException {
            out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(file), 1 << 20));
            row = ByteBuffer.allocate(vocab * 4).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer h = ByteBuffer.allocate(16 + tokens.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            h.putInt(MAGIC).putInt(1).putInt(tokens.length).putInt(vocab);
            for (int t : tokens) {
                h.putInt(t);
            }
            out.write(h.array());
        }

        public void row(float[] logits, int off, int vocab) throws IOException {
            row.clear();
            row.asFloatBuffer().put(logits, off, vocab);
            out.write(row.array(), 0, vocab * 4);
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }

    /** Reads a file written by {@link Writer}. */
    public static final class Reader implements AutoCloseable {
        private final DataInputStream in;
        private final int[] tokens;
        private final int vocab;
        private final byte[] buf;

        public Reader(Path file) throws IOException {
            if (!Files.isRegularFile(file)) {
                throw new InvalidRequestException("--kl " + file + " does not exist: write it first with perplexity --kl-base " + file);
            }
            in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 20));
            byte[] head = in.readNBytes(16);
            ByteBuffer h = ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN);
            if (head.length < 16 || h.getInt() != MAGIC) {
                throw new InvalidRequestException(file + " is not a RedHare logits file (written by perplexity --kl-base)");
            }
            int version = h.getInt();
            if (version != 1) {
                throw new InvalidRequestException(file + " has logits-file version " + version + "; this RedHare reads version 1");
            }
            int n = h.getInt();
            vocab = h.getInt();
            ByteBuffer ids = ByteBuffer.wrap(in.readNBytes(n * 4)).order(ByteOrder.LITTLE_ENDIAN);
            tokens = new int[n];
            for (int i = 0; i < n; i++) {
                tokens[i] = ids.getInt();
            }
            buf = new byte[vocab * 4];
        }

        public int[] tokens() {
            return tokens;
        }

        public int vocab() {
            return vocab;
        }

        public void next(float[] dst) throws IOException {
            try {
                in.readFully(buf);
            } catch (EOFException e) {
                throw new IOException("the logits file ends early: it is truncated");
            }
            ByteBuffer.wrap(buf).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(dst, 0, vocab);
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    /** Running comparison of a model's logits against reference logits: KL(ref || model), top-1 agreement. */
    public static final class Comparison {
        private double klSum;
        private double klMax;
        private int top1Same;
        private int positions;
        private double nllRef;
        private double nllModel;
        private int predicted;

        public void add(float[] ref, float[] model, int off, int vocab, int nextToken) {
            double mr = max(ref, 0, vocab);
            double mm = max(model, off, vocab);
            double zr = 0;
            double zm = 0;
            for (int i = 0; i < vocab; i++) {
                zr += Math.exp(ref[i] - mr);
                zm += Math.exp(model[off + i] - mm);
            }
            double lzr = Math.log(zr) + mr;
            double lzm = Math.log(zm) + mm;
            double kl = 0;
            for (int i = 0; i < vocab; i++) {
                double lpr = ref[i] - lzr;
                double lpm = model[off + i] - lzm;
                kl += Math.exp(lpr) * (lpr - lpm);
            }
            kl = Math.max(kl, 0);
            klSum += kl;
            klMax = Math.max(klMax, kl);
            if (Sampler.argmax(ref, 0, vocab) == Sampler.argmax(model, off, vocab)) {
                top1Same++;
            }
            positions++;
            if (nextToken >= 0) {
                nllRef -= ref[nextToken] - lzr;
                nllModel -= model[off + nextToken] - lzm;
                predicted++;
            }
        }

        public double meanKl() { return positions == 0 ? 0 : klSum / positions; }
        public double maxKl() { return klMax; }
        public double top1Agreement() { return positions == 0 ? 0 : (double) top1Same / positions; }
        public int positions() { return positions; }
        public double perplexityRef() { return Math.exp(nllRef / Math.max(1, predicted)); }
        public double perplexityModel() { return Math.exp(nllModel / Math.max(1, predicted)); }
        public double perplexityRatio() { return perplexityModel() / perplexityRef(); }

        private static double max(float[] x, int off, int len) {
            float m = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < len; i++) m = Math.max(m, x[off + i]);
            return m;
        }

    }

    static boolean sameTokens(int[] a, int[] b) {
        return Arrays.equals(a, b);
    }
}
