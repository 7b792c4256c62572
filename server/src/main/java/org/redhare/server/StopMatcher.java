package org.redhare.server;

import java.util.List;

/**
 * Finds stop strings in streamed text. Text that might be the start of a stop string is held back
 * until the next delta decides, so a stop string never reaches the client, even split across tokens.
 */
final class StopMatcher {
    private final List<String> stops;
    private final StringBuilder held = new StringBuilder();
    private boolean stopped;

    StopMatcher(List<String> stops) {
        this.stops = stops;
    }

    boolean stopped() {
        return stopped;
    }

    /** Adds decoded text; returns the text safe to send now. After a stop string was found, returns the text before it, then "". */
    String push(String text) {
        if (stopped) {
            return "";
        }
        held.append(text);
        if (stops.isEmpty()) {
            String out = held.toString();
            held.setLength(0);
            return out;
        }
        int first = -1;
        for (String s : stops) {
            int at = held.indexOf(s);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
            }
        }
        if (first >= 0) {
            stopped = true;
            String out = held.substring(0, first);
            held.setLength(0);
            return out;
        }
        String h = held.toString();
        int keep = 0; // longest tail of held that begins some stop string
        for (String s : stops) {
            for (int k = Math.min(s.length() - 1, h.length()); k > keep; k--) {
                if (h.regionMatches(h.length() - k, s, 0, k)) {
                    keep = k;
                    break;
                }
            }
        }
        String out = held.substring(0, held.length() - keep);
        held.delete(0, held.length() - keep);
        return out;
    }

    /** The generation ended without a stop string: whatever was held back is text after all. */
    String flush() {
        if (stopped) {
            return "";
        }
        String out = held.toString();
        held.setLength(0);
        return out;
    }
}
