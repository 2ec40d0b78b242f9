package io.taskbroker.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.api.plugin.TaskPlugin;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The latency workload's job, run by a worker in the bench's own JVM: records {@link
 * System#nanoTime()} the moment it starts, under the sample number in its payload. One round of
 * samples at a time ({@link #begin(int)}); a job of an older round is ignored. Thread-safe.
 */
final class LatencyPlugin implements TaskPlugin {
  static final String NAME = "bench-latency";

  /**
   * One round: start times by sample number (nanoTime, 0 = not started; and epoch microseconds, to
   * compare with the database's timestamps), and a permit per start.
   */
  private record Round(
      int id, AtomicLongArray starts, AtomicLongArray startMicros, Semaphore started) {}

  private volatile Round round =
      new Round(0, new AtomicLongArray(0), new AtomicLongArray(0), new Semaphore(0));

  @Override
  public String name() {
    return NAME;
  }

  /** Starts a new round of {@code samples} samples; returns its id for the payloads. */
  synchronized int begin(int samples) {
    Round next =
        new Round(
            round.id() + 1,
            new AtomicLongArray(samples),
            new AtomicLongArray(samples),
            new Semaphore(0));
    round = next;
    return next.id();
  }

  /** One permit per sample started in the current round. */
  Semaphore started() {
    return round.started();
  }

  /** When sample {@code index} of the current round started, or 0 when it has not. */
  long startNanos(int index) {
    return round.starts().get(index);
  }

  /** When sample {@code index} of the current round started, in epoch microseconds, or 0. */
  long startMicros(int index) {
    return round.startMicros().get(index);
  }

  @Override
  public JsonNode execute(TaskContext context) {
    long now = System.nanoTime();
    long micros = BenchWorkerMain.epochMicros();
    Round current = round;
    int id = context.payload().path("round").asInt(-1);
    int index = context.payload().path("i").asInt(-1);
    if (id == current.id() && index >= 0 && index < current.starts().length()) {
      if (current.starts().compareAndSet(index, 0, now)) {
        current.startMicros().set(index, micros);
        current.started().release();
      }
    }
    return null;
  }
}
