package io.taskbroker.bench;

import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/** Waiting for a workload's sender or inserter threads. */
final class Senders {
  private Senders() {}

  /**
   * Waits for every future and returns null when all ran, else "{@code what} failed: " and the
   * cause's message of the last one that failed.
   */
  static String awaitAll(List<? extends Future<?>> futures, String what)
      throws InterruptedException {
    String failure = null;
    for (Future<?> future : futures) {
      try {
        future.get();
      } catch (ExecutionException e) {
        failure = what + " failed: " + e.getCause().getMessage();
      }
    }
    return failure;
  }
}
