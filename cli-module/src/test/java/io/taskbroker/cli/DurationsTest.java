package io.taskbroker.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskbroker.cli.internal.Durations;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {

  @Test
  void acceptsTheShortFormsAndIso() {
    assertThat(Durations.parse("500ms")).isEqualTo(Duration.ofMillis(500));
    assertThat(Durations.parse("10s")).isEqualTo(Duration.ofSeconds(10));
    assertThat(Durations.parse("5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Durations.parse("2h")).isEqualTo(Duration.ofHours(2));
    assertThat(Durations.parse("7d")).isEqualTo(Duration.ofDays(7));
    assertThat(Durations.parse("1h30m")).isEqualTo(Duration.ofMinutes(90));
    assertThat(Durations.parse("PT10S")).isEqualTo(Duration.ofSeconds(10));
    assertThat(Durations.parse("pt1m")).isEqualTo(Duration.ofMinutes(1));
    assertThat(Durations.parse(" 0s ")).isEqualTo(Duration.ZERO);
  }

  @Test
  void refusesWhatIsNotADurationNamingTheText() {
    for (String bad : new String[] {"", "10", "10x", "s", "1.5s", "-5s", "10 s", "PTX", "ms10"}) {
      assertThatThrownBy(() -> Durations.parse(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("e.g. 500ms");
    }
    assertThatThrownBy(() -> Durations.parse("-PT5S")).hasMessageContaining("negative");
  }

  @Test
  void formatsForPeople() {
    assertThat(Durations.format(Duration.ofMillis(250))).isEqualTo("250ms");
    assertThat(Durations.format(Duration.ofSeconds(42))).isEqualTo("42s");
    assertThat(Durations.format(Duration.ofSeconds(312))).isEqualTo("5m12s");
    assertThat(Durations.format(Duration.ofMinutes(60))).isEqualTo("1h");
    assertThat(Durations.format(Duration.ofHours(28))).isEqualTo("1d4h");
    assertThat(Durations.format(null)).isEqualTo("-");
  }
}
