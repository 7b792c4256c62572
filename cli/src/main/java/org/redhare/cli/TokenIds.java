package org.redhare.cli;

/** Parses token-id lists given on the command line ("1,2,3" or "[1, 2, 3]"). */
final class TokenIds {
    private TokenIds() {}

    static int[] parse(String s) {
        String t = s.trim();
        if (t.startsWith("[") && t.endsWith("]")) {
            t = t.substring(1, t.length() - 1);
        }
        if (t.isBlank()) {
            throw CliException.usage("--tokens is empty: give comma-separated token ids, e.g. --tokens 1,2,3");
        }
        String[] parts = t.split("[,\\s]+");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw CliException.usage("--tokens: '" + parts[i] + "' is not a token id; give comma-separated integers, e.g. 1,2,3");
            }
            if (ids[i] < 0) {
                throw CliException.usage("--tokens: token ids are non-negative, got " + ids[i]);
            }
        }
        return ids;
    }
}
