package io.taskbroker.worker.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.worker.UnitHealth;
import io.taskbroker.worker.WorkerHealth;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The supervisor's judgement of its units, on a clock the test moves. */
class SupervisorTest {
  private final AtomicReference<Instant> now =
      new AtomicReference<>(Instant.parse("2026-01-01T00:00:00Z"));
  private final InstantSource clock = () -> now.get();
  private final List<String> deaths = new ArrayList<>();
  private final Supervisor supervisor =
      new Supervisor("w", clock, (unit, error) -> deaths.add(unit + ": " + error.getMessage()));

  @Test
  void aUnitWithoutProgressBeyondItsBoundIsReportedStalled() {
    Supervisor.Unit unit = supervisor.unit("rescuer", Duration.ofMinutes(1));
    unit.progress();
    now.set(now.get().plusSeconds(59));
    assertThat(supervisor.watch().status()).isEqualTo(WorkerHealth.Status.HEALTHY);

    now.set(now.get().plusSeconds(2));
    WorkerHealth health = supervisor.watch();
    assertThat(health.status()).isEqualTo(WorkerHealth.Status.UNHEALTHY);
    assertThat(health.units().get(0).state()).isEqualTo(UnitHealth.State.STALLED);

    unit.progress();
    assertThat(supervisor.watch().status()).isEqualTo(WorkerHealth.Status.HEALTHY);
  }

  @Test
  void aUnitFailingRunAfterRunMakesTheWorkerUnhealthyUntilARunWorks() {
    Supervisor.Unit unit = supervisor.unit("pruner", Duration.ofMinutes(1));
    for (int i = 0; i < UnitHealth.FAILING_AFTER; i++) {
      unit.progress();
      unit.failed(new IllegalStateException("run " + i));
    }
    WorkerHealth health = supervisor.health();
    assertThat(health.status()).isEqualTo(WorkerHealth.Status.UNHEALTHY);
    assertThat(health.units().get(0).state()).isEqualTo(UnitHealth.State.FAILING);
    assertThat(health.units().get(0).lastError()).contains("run 2");

    unit.progress();
    unit.ok();
    assertThat(supervisor.health().status()).isEqualTo(WorkerHealth.Status.HEALTHY);
  }

  @Test
  void anErrorEndingAUnitsThreadIsADeathReportedOnce() throws InterruptedException {
    Supervisor.Unit unit = supervisor.unit("completer", Duration.ofMinutes(1));
    Thread thread =
        new Thread(
            unit.supervise(
                () -> {
                  throw new StackOverflowError("deep");
                }));
    thread.start();
    thread.join();
    supervisor.unit("heartbeat", Duration.ofMinutes(1)).died(new OutOfMemoryError("second"));

    assertThat(deaths).containsExactly("completer: deep");
    WorkerHealth health = supervisor.health();
    assertThat(health.status()).isEqualTo(WorkerHealth.Status.FAILED);
    assertThat(health.failedUnit()).contains("completer");
  }
}
