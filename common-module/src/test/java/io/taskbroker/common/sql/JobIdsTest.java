package io.taskbroker.common.sql;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class JobIdsTest {
  @Test
  void idsAreVersion7WithTheRfcVariantAndTheCurrentTime() {
    long before = System.currentTimeMillis();
    UUID id = JobIds.next();
    long after = System.currentTimeMillis();

    assertThat(id.version()).isEqualTo(7);
    assertThat(id.variant()).isEqualTo(2);
    assertThat(id.getMostSignificantBits() >>> 16).isBetween(before, after);
  }

  @Test
  void idsOfLaterMillisecondsSortAfterEarlierOnesAndAllDiffer() {
    UUID first = JobIds.next();
    long firstMillis = first.getMostSignificantBits() >>> 16;
    UUID later = JobIds.next();
    while (later.getMostSignificantBits() >>> 16 == firstMillis) {
      later = JobIds.next();
    }
    Set<UUID> many = new HashSet<>();
    for (int i = 0; i < 100_000; i++) {
      many.add(JobIds.next());
    }

    // PostgreSQL orders uuids bytewise, as an unsigned comparison of the two longs does.
    assertThat(Long.compareUnsigned(later.getMostSignificantBits(), first.getMostSignificantBits()))
        .isPositive();
    assertThat(many).hasSize(100_000);
  }
}
