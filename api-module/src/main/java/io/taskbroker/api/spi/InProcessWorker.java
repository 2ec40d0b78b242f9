package io.taskbroker.api.spi;

import io.taskbroker.api.backend.ShutdownReport;
import java.time.Duration;

/** A running in-process worker. Thread-safe; shutdown is idempotent. */
public interface InProcessWorker {
  /** Jobs this worker is running now. */
  int runningCount();

  /**
   * Stops claiming, lets running jobs finish within {@code drainTimeout}, hands the rest back to
   * pending for another worker.
   */
  ShutdownReport shutdown(Duration drainTimeout);
}
