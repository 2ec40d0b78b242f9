package io.taskbroker.worker.internal;

import java.time.Duration;
import java.util.function.Consumer;

/**
 * One background unit of a worker, with the one lifecycle they all share (after River's services):
 * {@link #start()} once, {@link #stop(Duration)} once; both are safe to call again, and stop before
 * start is a no-op. The worker starts its services in order and stops them in reverse order, so
 * shutdown reads as a sequence. Implementations are thread-safe.
 */
public interface Service {
  /** The unit's name, as the supervisor and the logs know it. */
  String name();

  /** Starts the unit's thread or schedule; returns at once. Idempotent. */
  void start();

  /**
   * Stops the unit and waits for its thread, at most about {@code within}. Idempotent; a no-op
   * before {@link #start()}.
   */
  void stop(Duration within);

  /**
   * A service made of two calls, for a unit whose own class has its own lifecycle methods; the
   * calls themselves must be idempotent.
   */
  static Service of(String name, Runnable start, Consumer<Duration> stop) {
    return new Service() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public void start() {
        start.run();
      }

      @Override
      public void stop(Duration within) {
        stop.accept(within);
      }
    };
  }
}
