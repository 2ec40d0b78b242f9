package io.taskbroker.worker.testing;

import java.time.Duration;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;

/** Awaitility with a short poll, for conditions on rows and counters. Stateless. */
public final class Waits {
  private static final Duration POLL = Duration.ofMillis(20);

  private Waits() {}

  public static ConditionFactory within(Duration limit) {
    return Awaitility.await().atMost(limit).pollDelay(Duration.ZERO).pollInterval(POLL);
  }

  public static ConditionFactory within(int seconds) {
    return within(Duration.ofSeconds(seconds));
  }
}
