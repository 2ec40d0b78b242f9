package io.taskbroker.common;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Keeps database passwords out of anything shown to people: messages, logs, stack traces, {@code
 * toString()}. Stateless and thread-safe.
 *
 * <p>It never parses a URL to redact it: a URL that fails to parse is exactly the one whose
 * password ends up in an error message. It masks by shape instead, erring towards masking too much:
 *
 * <ul>
 *   <li>in a URL, everything between {@code ://} and the <em>last</em> {@code @} after the user
 *       name (a password may hold {@code / ? # @}, unencoded by mistake);
 *   <li>the value of every {@code ...password=} parameter, in any case ({@code ?password=}, {@code
 *       &sslpassword=}, a libpq {@code password=...} keyword);
 *   <li>in free text, each known password (at least {@value #MIN_LITERAL} characters, as typed and
 *       percent-decoded) wherever it appears.
 * </ul>
 */
public final class Secrets {
  /** What a masked secret shows as. */
  public static final String MASK = "***";

  /** Shorter known passwords are masked by shape only: masking "ab" everywhere wrecks a text. */
  static final int MIN_LITERAL = 4;

  // A password parameter: in a query (?&;), or a keyword/value conninfo string (whitespace).
  // Its value runs to the next separator, or is quoted as libpq allows.
  private static final Pattern PASSWORD_PARAMETER =
      Pattern.compile(
          "(?i)((?:^|[?&;\\s])[a-z_]*password\\s*=\\s*)('(?:[^'\\\\]|\\\\.)*'?|[^&;#\\s]*)");

  // scheme://user:password@ in free text: the password runs to the last @ before whitespace.
  private static final Pattern USERINFO_IN_TEXT =
      Pattern.compile("([A-Za-z][A-Za-z0-9+.-]*://)([^\\s:/@]*):(\\S*)@");

  private Secrets() {}

  /** The URL with every password in it masked; for any input, parseable or not. Null stays null. */
  public static String redactUrl(String url) {
    if (url == null) {
      return null;
    }
    return maskParameters(maskUserInfo(url));
  }

  /**
   * The text with the known passwords and everything that looks like a password masked.
   *
   * @param secrets passwords to mask wherever they appear (nulls and blanks are ignored)
   */
  public static String redact(String text, Collection<String> secrets) {
    if (text == null) {
      return null;
    }
    String redacted = text;
    List<String> literals = new ArrayList<>();
    for (String secret : secrets) {
      if (secret != null && secret.strip().length() >= MIN_LITERAL) {
        literals.add(secret);
      }
    }
    // Longest first: a password that contains another must be masked whole.
    literals.sort(Comparator.comparingInt(String::length).reversed());
    for (String literal : literals) {
      redacted = redacted.replace(literal, MASK);
    }
    redacted = USERINFO_IN_TEXT.matcher(redacted).replaceAll("$1$2:" + MASK + "@");
    return maskParameters(redacted);
  }

  /** As {@link #redact(String, Collection)} with the passwords found in these URLs. */
  public static String redact(String text, String... urls) {
    Set<String> secrets = new LinkedHashSet<>();
    for (String url : urls) {
      secrets.addAll(passwordsIn(url));
    }
    return redact(text, secrets);
  }

  /**
   * The passwords a URL or conninfo string holds, as written and percent-decoded, found by the same
   * shapes {@link #redactUrl} masks. Empty for null.
   */
  public static Set<String> passwordsIn(String url) {
    Set<String> found = new LinkedHashSet<>();
    if (url == null) {
      return found;
    }
    int start = userInfoStart(url);
    int at = url.lastIndexOf('@');
    if (at > start) {
      int colon = url.indexOf(':', start);
      if (colon >= 0 && colon < at) {
        addWithDecoded(found, url.substring(colon + 1, at));
      }
    }
    Matcher parameters = PASSWORD_PARAMETER.matcher(url);
    while (parameters.find()) {
      String value = parameters.group(2);
      if (value.length() >= 2 && value.startsWith("'") && value.endsWith("'")) {
        value = value.substring(1, value.length() - 1);
      }
      addWithDecoded(found, value);
    }
    found.remove("");
    return found;
  }

  private static void addWithDecoded(Set<String> found, String value) {
    found.add(value);
    try {
      found.add(URLDecoder.decode(value.replace("+", "%2B"), StandardCharsets.UTF_8));
    } catch (IllegalArgumentException e) {
      // A broken %-escape: the text as written is what would be printed.
    }
  }

  private static String maskUserInfo(String url) {
    int start = userInfoStart(url);
    int at = url.lastIndexOf('@');
    if (at <= start) {
      return url;
    }
    int colon = url.indexOf(':', start);
    if (colon < 0 || colon > at) {
      return url; // a user name alone is no secret
    }
    return url.substring(0, colon + 1) + MASK + url.substring(at);
  }

  /** Where a user name would begin: after {@code ://}, or at the start for a bare form. */
  private static int userInfoStart(String url) {
    int scheme = url.indexOf("://");
    return scheme < 0 ? 0 : scheme + 3;
  }

  private static String maskParameters(String text) {
    return PASSWORD_PARAMETER
        .matcher(text)
        .replaceAll(match -> Matcher.quoteReplacement(match.group(1) + MASK));
  }
}
