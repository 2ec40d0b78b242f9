package io.taskbroker.worker.executor;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {
  private static final Duration BASE = Duration.ofMillis(200);
  private static final Duration MAX = Duration.ofSeconds(60);

  private static Backoff withRandom(double random) {
    return new Backoff(BASE, MAX, () -> random);
  }

  @Test
  void delayDoublesWithEachAttemptAtTheMiddleOfTheJitter() {
    Backoff middle = withRandom(0.5);

    assertThat(middle.delayAfter(1)).isEqualTo(Duration.ofMillis(200));
    assertThat(middle.delayAfter(2)).isEqualTo(Duration.ofMillis(400));
    assertThat(middle.delayAfter(3)).isEqualTo(Duration.ofMillis(800));
    assertThat(middle.delayAfter(4)).isEqualTo(Duration.ofMillis(1600));
  }

  @Test
  void jitterStaysWithinThreeQuartersToFiveQuartersOfTheNominalDelay() {
    assertThat(withRandom(0.0).delayAfter(3)).isEqualTo(Duration.ofMillis(600));
    assertThat(withRandom(0.99).delayAfter(3)).isEqualTo(Duration.ofMillis(996));

    Backoff random = Backoff.of(BASE, MAX);
    for (int attempt = 1; attempt <= 8; attempt++) {
      long nominal = BASE.toMillis() << (attempt - 1);
      for (int i = 0; i < 200; i++) {
        long delay = random.delayAfter(attempt).toMillis();
        assertThat(delay)
            .as("attempt %d", attempt)
            .isBetween(Math.round(nominal * 0.75), Math.round(nominal * 1.25));
      }
    }
  }

  @Test
  void delayIsCappedAtTheMaximumEvenWithJitter() {
    Backoff high = new Backoff(BASE, Duration.ofSeconds(1), () -> 0.999);

    assertThat(high.delayAfter(10)).isEqualTo(Duration.ofSeconds(1));
    assertThat(withRandom(0.999).delayAfter(1_000)).isEqualTo(MAX);
    assertThat(withRandom(0.0).delayAfter(1_000)).isEqualTo(Duration.ofSeconds(45));
  }

  @Test
  void hugeAttemptNumbersDoNotOverflow() {
    assertThat(withRandom(0.5).delayAfter(Integer.MAX_VALUE)).isEqualTo(MAX);
  }

  @Test
  void attemptZeroOrBelowWaitsLikeTheFirstAttempt() {
    assertThat(withRandom(0.5).delayAfter(0)).isEqualTo(BASE);
    assertThat(withRandom(0.5).delayAfter(-3)).isEqualTo(BASE);
  }
}
