package io.taskbroker.worker.it;

import java.util.ArrayList;
import java.util.List;

/**
 * The worker processes one test started, so that {@code @AfterEach} kills every one of them
 * whatever happened. Not thread-safe.
 */
final class WorkerFleet implements AutoCloseable {
  private final String testName;
  private final List<WorkerProcess> processes = new ArrayList<>();

  WorkerFleet(String testName) {
    this.testName = testName;
  }

  /** Starts a worker process without waiting for it. */
  WorkerProcess start(String name, WorkerOptions options) {
    WorkerProcess process = WorkerProcess.start(testName, name, options);
    processes.add(process);
    return process;
  }

  /** Starts a worker process and waits until it runs. */
  WorkerProcess startReady(String name, WorkerOptions options) {
    return start(name, options).awaitReady();
  }

  @Override
  public void close() {
    for (WorkerProcess process : processes) {
      try {
        process.close();
      } catch (RuntimeException | AssertionError e) {
        System.err.println("could not stop " + process + ": " + e);
      }
    }
    processes.clear();
  }
}
