package io.taskbroker.cli.internal;

import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;

/**
 * How instants are shown: in tables and details, the local time zone to the second; in JSON, ISO
 * 8601 in UTC. Stateless.
 */
public final class Times {
  private static final DateTimeFormatter LOCAL = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

  private Times() {}

  /** {@code 2025-01-31 14:05:09} in the local zone, or {@code -}. */
  public static String local(Instant instant) {
    return instant == null ? "-" : LOCAL.format(instant.atZone(ZoneId.systemDefault()));
  }

  /** {@code 2025-01-31T17:05:09.123456Z}, or null. */
  public static String iso(Instant instant) {
    return instant == null ? null : instant.toString();
  }
}
