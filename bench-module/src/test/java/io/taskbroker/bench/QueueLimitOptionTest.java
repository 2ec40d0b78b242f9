package io.taskbroker.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskbroker.common.InvalidQueueException;
import io.taskbroker.common.QueueLimits;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code bench --queue-limit}: what it parses to, and the refusals (exit 2, one line). */
class QueueLimitOptionTest {
  @Test
  void parsesEachLimit() {
    assertThat(BenchCommand.parseQueueLimits(List.of("global=100000")))
        .isEqualTo(new QueueLimits(100000, null, null, null));
    assertThat(BenchCommand.parseQueueLimits(List.of("rate=50", "key=2")))
        .isEqualTo(new QueueLimits(null, 50, Duration.ofSeconds(1), 2));
    assertThat(BenchCommand.parseQueueLimits(List.of(" Rate = 1000/250ms ")))
        .isEqualTo(new QueueLimits(null, 1000, Duration.ofMillis(250), null));
    assertThat(BenchCommand.parseQueueLimits(List.of())).isEqualTo(QueueLimits.none());
    assertThat(BenchSettings.describeLimits(new QueueLimits(7, 5, Duration.ofSeconds(2), 1)))
        .isEqualTo("global=7,rate=5/2000ms,key=1");
  }

  @Test
  void refusesBadLimits() {
    assertThatThrownBy(() -> BenchCommand.parseQueueLimits(List.of("global=0")))
        .isInstanceOf(InvalidQueueException.class)
        .hasMessageStartingWith("global_concurrency: ");
    assertThatThrownBy(() -> BenchCommand.parseQueueLimits(List.of("global=lots")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("whole number");
    assertThatThrownBy(() -> BenchCommand.parseQueueLimits(List.of("speed=3")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown limit 'speed'");
    assertThatThrownBy(() -> BenchCommand.parseQueueLimits(List.of("global")))
        .isInstanceOf(IllegalArgumentException.class);

    for (String bad : List.of("global=-1", "rate=5/0s", "rate=5/soon", "key=x", "nope=1")) {
      StringWriter err = new StringWriter();
      int exit =
          new CommandLine(new BenchCommand())
              .setOut(new PrintWriter(new StringWriter()))
              .setErr(new PrintWriter(err))
              .execute("--workload=drain", "--queue-limit=" + bad);
      assertThat(exit).as(bad + ": " + err).isEqualTo(2);
      assertThat(err.toString()).as(bad).startsWith("taskbroker bench: ").doesNotContain("\tat ");
    }
  }
}
