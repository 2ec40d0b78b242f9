package io.taskbroker.common.sql;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * New job ids: version 7 UUIDs (RFC 9562), whose first 48 bits are the Unix time in milliseconds.
 * Ids made close in time sit close together in the primary key, so a batch of inserts touches a few
 * of its pages at the right edge instead of one random page per row (and, after each checkpoint,
 * writes a full-page image of each of those into the WAL). The remaining 74 bits are random.
 * Thread-safe.
 */
final class JobIds {
  private JobIds() {}

  static UUID next() {
    long millis = System.currentTimeMillis();
    ThreadLocalRandom random = ThreadLocalRandom.current();
    long high = (millis << 16) | 0x7000L | (random.nextLong() & 0x0FFFL);
    long low = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
    return new UUID(high, low);
  }
}
