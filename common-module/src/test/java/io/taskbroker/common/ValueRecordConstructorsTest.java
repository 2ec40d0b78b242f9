package io.taskbroker.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The public canonical constructors of the job values check what their builders check: a value made
 * positionally is as sound as a built one.
 */
class ValueRecordConstructorsTest {

  private static NewJob job(String plugin, String queue, int priority, int maxAttempts) {
    return new NewJob(
        plugin, Json.object(), queue, priority, null, null, maxAttempts, Json.object(), null, null);
  }

  @Test
  void aNewJobMadePositionallyIsValidatedNamingTheBadValue() {
    assertThat(job("echo", "default", 0, 3).plugin()).isEqualTo("echo");
    assertThatThrownBy(() -> job(" ", "default", 0, 3))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("plugin name");
    assertThatThrownBy(() -> job("echo", "", 0, 3))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("queue")
        .hasMessageContaining("''");
    assertThatThrownBy(() -> job("echo", "default", 40_000, 3))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("got 40000");
    assertThatThrownBy(() -> job("echo", "default", 0, 0))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("max_attempts")
        .hasMessageEndingWith("got 0");
    ObjectNode payload = Json.object();
    assertThatThrownBy(
            () ->
                new NewJob(
                    "echo",
                    payload,
                    "default",
                    0,
                    null,
                    Duration.ofSeconds(-1),
                    3,
                    Json.object(),
                    null,
                    null))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("delay");
    assertThatThrownBy(
            () -> new NewJob("echo", null, "default", 0, null, null, 3, Json.object(), null, null))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("payload must be a JSON object, got missing");
  }

  @Test
  void aJobQueryMadePositionallyIsValidatedNamingTheBadValue() {
    assertThat(new JobQuery(null, null, null, 10, 0, null, true).statuses()).isEmpty();
    assertThatThrownBy(() -> new JobQuery(Set.of(), null, null, 0, 0, null, true))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("limit")
        .hasMessageEndingWith("got 0");
    assertThatThrownBy(() -> new JobQuery(Set.of(), null, null, 10, -1, null, true))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("offset")
        .hasMessageEndingWith("got -1");
  }
}
