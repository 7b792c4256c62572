package org.redhare.cli;

/** Progress and status lines on standard error (standard output stays for results). */
final class Progress {
    private Progress() {}

    static volatile boolean quiet;

    static void info(String line) {
        if (!quiet) {
            System.err.println(line);
        }
    }

    private static int lastPercent = -1;

    /**
     * A percentage line: redrawn in place on a terminal, one line per 10% otherwise (logs stay short).
     */
    static synchronized void bar(String what, long done, long total) {
        if (quiet || total <= 0) {
            return;
        }
        int pct = (int) (done * 100 / total);
        boolean tty = System.console() != null;
        if (pct == lastPercent || (!tty && pct % 10 != 0 && done < total)) {
            return;
        }
        lastPercent = pct;
        String line = total >= 1 << 20
                ? what + " " + pct + "% (" + done / (1 << 20) + " / " + total / (1 << 20) + " MiB)"
                : what + " " + pct + "% (" + done / 1024 + " / " + total / 1024 + " KiB)"; // tiny models would read 0 / 0 MiB
        if (tty) {
            System.err.print("\r" + line);
            if (done >= total) {
                System.err.println();
            }
        } else {
            System.err.println(line);
        }
        if (done >= total) {
            lastPercent = -1;
        }
    }
}
