package io.taskbroker.worker.internal;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.worker.UnitHealth;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The one lifecycle every thread-loop unit shares: start once, stop once, supervised. */
class BackgroundLoopTest {
  private final List<String> deaths = new CopyOnWriteArrayList<>();
  private final List<String> changes = new CopyOnWriteArrayList<>();
  private final Supervisor supervisor =
      new Supervisor("w", InstantSource.system(), (unit, error) -> deaths.add(unit));

  /** Goes round until stopped, waiting on a latch that stop's wake() opens. */
  private final class Looping extends BackgroundLoop {
    final AtomicInteger starts = new AtomicInteger();
    final CountDownLatch woken = new CountDownLatch(1);
    volatile Error fault;

    Looping() {
      super("looping", supervisor.unit("looping", Duration.ofMinutes(1)));
    }

    @Override
    protected void loop() {
      starts.incrementAndGet();
      while (isRunning()) {
        unit().progress();
        if (fault != null) {
          throw fault;
        }
        try {
          woken.await(10, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    @Override
    protected void wake() {
      woken.countDown();
    }
  }

  @Test
  void aLoopIsSafeToStopBeforeStartAndTwiceAndNeverStartsAfterStop() {
    Looping never = new Looping();
    never.stop(Duration.ofSeconds(1));
    never.stop(Duration.ofSeconds(1));
    never.start();
    assertThat(never.starts.get()).as("stopped before start: never runs").isZero();

    Looping loop = new Looping();
    loop.start();
    loop.start();
    within(5).until(() -> loop.starts.get() == 1);
    loop.stop(Duration.ofSeconds(5));
    loop.stop(Duration.ofSeconds(5));
    assertThat(loop.woken.getCount()).as("stop woke the loop").isZero();
    assertThat(loop.starts.get()).isEqualTo(1);
    assertThat(deaths).isEmpty();
  }

  @Test
  void anErrorThatEndsTheLoopIsTheUnitsDeathNeverSilent() {
    supervisor.onHealthChange((unit, state) -> changes.add(unit + ":" + state));
    Looping loop = new Looping();
    loop.start();
    loop.fault = new StackOverflowError("deep");

    within(5).until(() -> deaths.contains("looping"));
    // The death is reported first, the health change after it (Unit.died): wait for both.
    within(5).until(() -> !changes.isEmpty());
    assertThat(supervisor.health().units())
        .extracting(UnitHealth::state)
        .containsExactly(UnitHealth.State.FAILED);
    assertThat(changes).containsExactly("looping:failed");
    loop.stop(Duration.ofSeconds(1));
  }
}
