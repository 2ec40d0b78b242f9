package io.taskbroker.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskbroker.api.backend.ShutdownReport;
import io.taskbroker.api.backend.TaskExecutor;
import io.taskbroker.api.spi.InProcessWorkerSpec;
import io.taskbroker.common.InvalidConfigException;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The public canonical constructors of the api's config and value records check what their builders
 * check: a value made positionally is as sound as a built one.
 */
class ValueRecordConstructorsTest {

  private static final TaskExecutor NOOP = task -> null;

  @Test
  void aClientConfigMadePositionallyIsValidatedNamingTheBadValue() {
    assertThatThrownBy(() -> new ClientConfig(Duration.ofMillis(1), true, true))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContainingAll("await poll interval", "PT0.001S");
    assertThatThrownBy(() -> new ClientConfig(null, true, true))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContainingAll("await poll interval", "null");
  }

  @Test
  void anInProcessWorkerSpecIsValidatedNamingTheBadValue() {
    assertThatThrownBy(() -> new InProcessWorkerSpec(null, " ", 1, NOOP))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContainingAll("queue name", "' '");
    assertThatThrownBy(() -> new InProcessWorkerSpec(null, "default", 0, NOOP))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContainingAll("concurrency", "got 0");
    Set<String> types = new HashSet<>();
    types.add("");
    assertThatThrownBy(() -> new InProcessWorkerSpec(null, "default", 1, NOOP, types))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContainingAll("task types", "''");
    assertThatThrownBy(() -> new InProcessWorkerSpec(null, "default", 1, NOOP))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("needs a database");
  }

  @Test
  void aShutdownReportRefusesATaskThatIsBothAbandonedAndPending() {
    UUID task = UUID.randomUUID();

    assertThat(new ShutdownReport(List.of(task), List.of()).drained()).isFalse();
    assertThatThrownBy(() -> new ShutdownReport(List.of(task), List.of(task)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(task.toString());
    assertThatThrownBy(() -> new ShutdownReport(null, List.of()))
        .isInstanceOf(NullPointerException.class)
        .hasMessageContaining("abandoned");
  }
}
