package io.taskbroker.worker.internal;

/**
 * Makes text a plugin produced (an error message, a trace, a progress note) fit for a PostgreSQL
 * {@code text} column before it joins a batch: bounded in length with a visible marker, and with
 * the characters PostgreSQL refuses replaced. One job's odd text then cannot make the statement
 * that also carries other jobs fail. Stateless and thread-safe.
 */
public final class StorableText {
  private static final char REPLACEMENT = '\uFFFD';

  private StorableText() {}

  /**
   * The text cut to at most {@code maxChars} characters followed by {@code "… [truncated, N more
   * characters]"}, with NUL and unpaired UTF-16 surrogates replaced by U+FFFD; null stays null.
   */
  public static String of(String text, int maxChars) {
    return text == null ? null : replaceUnstorable(truncate(text, maxChars));
  }

  /** The text cut to {@code maxChars} characters plus a marker saying how much was cut. */
  public static String truncate(String text, int maxChars) {
    if (text == null || text.length() <= maxChars) {
      return text;
    }
    int keep = maxChars;
    // Never cut between the two halves of a surrogate pair.
    if (keep > 0 && Character.isHighSurrogate(text.charAt(keep - 1))) {
      keep--;
    }
    return text.substring(0, keep) + marker(text.length() - keep);
  }

  /** The marker put where text was cut. */
  public static String marker(long charactersCut) {
    return "… [truncated, " + charactersCut + " more characters]";
  }

  /**
   * PostgreSQL text holds no NUL, and a lone surrogate has no UTF-8 form (the driver would send
   * {@code ?} or fail): both become U+FFFD, so the rest of the text is still recorded.
   */
  public static String replaceUnstorable(String text) {
    if (text == null || isStorable(text)) {
      return text;
    }
    StringBuilder out = new StringBuilder(text.length());
    int length = text.length();
    for (int i = 0; i < length; i++) {
      char c = text.charAt(i);
      if (c == '\u0000') {
        out.append(REPLACEMENT);
      } else if (Character.isHighSurrogate(c)
          && i + 1 < length
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        out.append(c).append(text.charAt(++i));
      } else if (Character.isSurrogate(c)) {
        out.append(REPLACEMENT);
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  /** Whether PostgreSQL can store the text as it is: no NUL, every surrogate paired. */
  public static boolean isStorable(String text) {
    int length = text.length();
    for (int i = 0; i < length; i++) {
      char c = text.charAt(i);
      if (c == '\u0000') {
        return false;
      }
      if (Character.isSurrogate(c)) {
        if (!Character.isHighSurrogate(c)
            || i + 1 >= length
            || !Character.isLowSurrogate(text.charAt(i + 1))) {
          return false;
        }
        i++;
      }
    }
    return true;
  }
}
