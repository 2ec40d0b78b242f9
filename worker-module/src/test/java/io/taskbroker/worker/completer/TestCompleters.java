package io.taskbroker.worker.completer;

import io.taskbroker.common.Database;
import io.taskbroker.common.sql.WorkerRepository;
import io.taskbroker.worker.executor.Backoff;
import io.taskbroker.worker.executor.Outcomes;
import io.taskbroker.worker.internal.JobListeners;
import io.taskbroker.worker.internal.Supervisor;
import java.time.Duration;
import java.time.InstantSource;
import java.util.function.IntSupplier;

/** A completer driven by a test in place of a worker: batches of 100, retried for 5 s. */
final class TestCompleters {
  private TestCompleters() {}

  /** The outcomes a worker with this id would build, results capped at {@code maxResultBytes}. */
  static Outcomes outcomes(String workerId, long maxResultBytes) {
    return new Outcomes(
        workerId,
        Backoff.of(Duration.ofMillis(100), Duration.ofSeconds(1)),
        InstantSource.system(),
        maxResultBytes);
  }

  /** Not started; {@code held} is what the worker would report it holds. */
  static Completer completer(
      Database database, String workerId, Outcomes outcomes, IntSupplier held) {
    return new Completer(
        new WorkerRepository(database),
        new Completer.Settings(workerId, 100, Duration.ofSeconds(5), 100),
        outcomes,
        JobListeners.none(),
        InstantSource.system(),
        held,
        Supervisor.alone(workerId).unit("completer", Duration.ofHours(1)));
  }
}
