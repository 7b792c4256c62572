package org.redhare.text.template;

import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.Locale;

/** Python's datetime.strftime for the C locale (the codes chat templates use: %d %b %Y %H:%M ...). */
final class Strftime {

    private Strftime() {
    }

    static String format(String fmt, LocalDateTime t) {
        StringBuilder sb = new StringBuilder();
        for (int k = 0; k < fmt.length(); k++) {
            char c = fmt.charAt(k);
            if (c != '%' || k + 1 >= fmt.length()) {
                sb.append(c);
                continue;
            }
            char f = fmt.charAt(++k);
            boolean noPad = false;
            if (f == '-' && k + 1 < fmt.length()) {      // glibc: %-d drops the padding
                noPad = true;
                f = fmt.charAt(++k);
            }
            switch (f) {
                case 'Y' -> sb.append(t.getYear());
                case 'y' -> pad(sb, t.getYear() % 100, 2, noPad);
                case 'm' -> pad(sb, t.getMonthValue(), 2, noPad);
                case 'd' -> pad(sb, t.getDayOfMonth(), 2, noPad);
                case 'e' -> sb.append(String.format("%2d", t.getDayOfMonth()));
                case 'H' -> pad(sb, t.getHour(), 2, noPad);
                case 'I' -> pad(sb, t.getHour() % 12 == 0 ? 12 : t.getHour() % 12, 2, noPad);
                case 'M' -> pad(sb, t.getMinute(), 2, noPad);
                case 'S' -> pad(sb, t.getSecond(), 2, noPad);
                case 'f' -> sb.append(String.format("%06d", t.getNano() / 1000));
                case 'j' -> pad(sb, t.getDayOfYear(), 3, noPad);
                case 'p' -> sb.append(t.getHour() < 12 ? "AM" : "PM");
                case 'b', 'h' -> sb.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> sb.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'w' -> sb.append(t.getDayOfWeek().getValue() % 7);
                case 'u' -> sb.append(t.getDayOfWeek().getValue());
                case 'D' -> sb.append(format("%m/%d/%y", t));
                case 'F' -> sb.append(format("%Y-%m-%d", t));
                case 'T' -> sb.append(format("%H:%M:%S", t));
                case 'R' -> sb.append(format("%H:%M", t));
                case 'c' -> sb.append(format("%a %b %e %H:%M:%S %Y", t));
                case 'x' -> sb.append(format("%m/%d/%y", t));
                case 'X' -> sb.append(format("%H:%M:%S", t));
                case 'Z', 'z' -> { }                             // naive datetime: empty, as in Python
                case '%' -> sb.append('%');
                default -> sb.append('%').append(f);
            }
        }
        return sb.toString();
    }

    private static void pad(StringBuilder sb, int v, int width, boolean noPad) {
        String s = Integer.toString(v);
        if (!noPad) {
            sb.append("0".repeat(Math.max(0, width - s.length())));
        }
        sb.append(s);
    }
}
