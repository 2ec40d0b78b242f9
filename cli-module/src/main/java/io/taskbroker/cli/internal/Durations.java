package io.taskbroker.cli.internal;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Durations as people type them on a command line: {@code 500ms}, {@code 10s}, {@code 5m}, {@code
 * 2h}, {@code 7d}, combinations such as {@code 1h30m}, or ISO-8601 ({@code PT10S}). Stateless.
 */
public final class Durations {
  private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");
  private static final String EXPECTED = "use e.g. 500ms, 10s, 5m, 2h, 7d, 1h30m or PT10S";

  private Durations() {}

  /**
   * @throws IllegalArgumentException with a message that quotes the bad text and shows good ones
   */
  public static Duration parse(String text) {
    String value = text == null ? "" : text.trim().toLowerCase(Locale.ROOT);
    if (value.isEmpty()) {
      throw new IllegalArgumentException("a duration is needed; " + EXPECTED);
    }
    if (value.startsWith("p") || value.startsWith("-p")) {
      try {
        return nonNegative(Duration.parse(value.toUpperCase(Locale.ROOT)), text);
      } catch (DateTimeParseException e) {
        throw notADuration(text);
      }
    }
    Matcher matcher = PART.matcher(value);
    Duration total = Duration.ZERO;
    int position = 0;
    while (position < value.length()) {
      if (!matcher.find(position) || matcher.start() != position) {
        throw notADuration(text);
      }
      long amount;
      try {
        amount = Long.parseLong(matcher.group(1));
        total = total.plus(unit(amount, matcher.group(2)));
      } catch (NumberFormatException | ArithmeticException e) {
        throw new IllegalArgumentException("'" + text + "' is too long a duration");
      }
      position = matcher.end();
    }
    return total;
  }

  /** A short human form: {@code 250ms}, {@code 42s}, {@code 5m12s}, {@code 2h3m}, {@code 1d4h}. */
  public static String format(Duration duration) {
    if (duration == null) {
      return "-";
    }
    if (duration.isNegative()) {
      return "-" + format(duration.negated());
    }
    long millis = duration.toMillis();
    if (millis < 1000) {
      return millis + "ms";
    }
    long seconds = duration.toSeconds();
    if (seconds < 60) {
      return seconds + "s";
    }
    if (seconds < 3600) {
      return twoUnits(seconds / 60, "m", seconds % 60, "s");
    }
    if (seconds < 86_400) {
      return twoUnits(seconds / 3600, "h", seconds % 3600 / 60, "m");
    }
    return twoUnits(seconds / 86_400, "d", seconds % 86_400 / 3600, "h");
  }

  private static String twoUnits(long major, String majorUnit, long minor, String minorUnit) {
    return minor == 0 ? major + majorUnit : major + majorUnit + minor + minorUnit;
  }

  private static Duration unit(long amount, String unit) {
    switch (unit) {
      case "ms":
        return Duration.ofMillis(amount);
      case "s":
        return Duration.ofSeconds(amount);
      case "m":
        return Duration.ofMinutes(amount);
      case "h":
        return Duration.ofHours(amount);
      default:
        return Duration.ofDays(amount);
    }
  }

  private static Duration nonNegative(Duration duration, String text) {
    if (duration.isNegative()) {
      throw new IllegalArgumentException("'" + text + "' is negative; a duration must not be");
    }
    return duration;
  }

  private static IllegalArgumentException notADuration(String text) {
    return new IllegalArgumentException("'" + text + "' is not a duration; " + EXPECTED);
  }
}
