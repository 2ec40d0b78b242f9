package io.taskbroker.cli.internal;

/**
 * Makes text from the database or from the user safe to print on a terminal. A queue, plugin, error
 * or payload may hold escape sequences (clear the screen, set the window title, rewrite the line)
 * or bidi overrides that make the output lie; every line the command line prints that can carry
 * such data goes through {@link #safe(String)}. Stateless.
 *
 * <p>Controls are shown, not dropped, so what is stored stays visible: ESC as {@code \e}, the other
 * C0 controls and DEL as {@code \xHH} ({@code \t}, {@code \n}, {@code \r} as such), C1 controls,
 * bidi controls and the Unicode line separators as {@code \}{@code uHHHH}.
 */
public final class Terminal {
  private Terminal() {}

  /** The text on one line, every control character shown visibly. Null stays null. */
  public static String safe(String text) {
    return escape(text, false);
  }

  /** As {@link #safe}, but keeps line feeds and tabs: for stack traces and log lines. */
  public static String safeKeepingLines(String text) {
    return escape(text, true);
  }

  /** Whether a terminal would act on this character instead of showing it. */
  public static boolean isUnsafe(int codePoint) {
    return codePoint < 0x20
        || (codePoint >= 0x7f && codePoint <= 0x9f)
        || isBidiControl(codePoint)
        || codePoint == 0x2028
        || codePoint == 0x2029;
  }

  /** Marks, embeddings, overrides and isolates: they reorder what follows on the line. */
  static boolean isBidiControl(int codePoint) {
    return codePoint == 0x061c
        || codePoint == 0x200e
        || codePoint == 0x200f
        || (codePoint >= 0x202a && codePoint <= 0x202e)
        || (codePoint >= 0x2066 && codePoint <= 0x2069);
  }

  private static String escape(String text, boolean keepLines) {
    if (text == null) {
      return null;
    }
    int first = firstUnsafe(text, keepLines);
    if (first < 0) {
      return text;
    }
    StringBuilder out = new StringBuilder(text.length() + 16).append(text, 0, first);
    for (int i = first; i < text.length(); i++) {
      char c = text.charAt(i);
      if (keepLines && (c == '\n' || c == '\t' || (c == '\r' && nextIs(text, i, '\n')))) {
        out.append(c);
      } else if (!isUnsafe(c)) {
        out.append(c);
      } else if (c == 0x1b) {
        out.append("\\e");
      } else if (c == '\n') {
        out.append("\\n");
      } else if (c == '\r') {
        out.append("\\r");
      } else if (c == '\t') {
        out.append("\\t");
      } else if (c < 0x80) {
        out.append(String.format("\\x%02x", (int) c));
      } else {
        out.append(String.format("\\u%04x", (int) c));
      }
    }
    return out.toString();
  }

  private static int firstUnsafe(String text, boolean keepLines) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (isUnsafe(c) && !(keepLines && (c == '\n' || c == '\t' || c == '\r'))) {
        return i;
      }
      if (keepLines && c == '\r' && !nextIs(text, i, '\n')) {
        return i;
      }
    }
    return -1;
  }

  private static boolean nextIs(String text, int index, char expected) {
    return index + 1 < text.length() && text.charAt(index + 1) == expected;
  }
}
