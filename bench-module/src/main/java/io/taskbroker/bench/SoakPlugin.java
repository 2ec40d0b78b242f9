package io.taskbroker.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.api.plugin.TaskPlugin;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * The soak workload's job: a no-op that, the moment it starts, records how long ago its job was
 * meant to be submitted. The intended time travels in the payload as this JVM's {@link
 * System#nanoTime()}, so the worker must run in the bench's JVM (it does). Latencies go into an
 * interval recorder that the bench empties once per reported interval, so an interval's figures are
 * those of the jobs that <em>started</em> in it. Thread-safe.
 */
final class SoakPlugin implements TaskPlugin {
  static final String NAME = "bench-soak";
  static final String INTENDED_NANOS = "intended_nanos";
  static final long HIGHEST_NANOS = TimeUnit.SECONDS.toNanos(600);

  private final Recorder latency = new Recorder(HIGHEST_NANOS, 3);
  private final AtomicLong started = new AtomicLong();

  @Override
  public String name() {
    return NAME;
  }

  /** Jobs started so far. */
  long started() {
    return started.get();
  }

  /** Latencies of the jobs started since the previous call (the first: since construction). */
  Histogram takeInterval() {
    return latency.getIntervalHistogram();
  }

  @Override
  public JsonNode execute(TaskContext context) {
    long now = System.nanoTime();
    long intended = context.payload().path(INTENDED_NANOS).asLong(0);
    if (intended != 0) {
      latency.recordValue(Math.max(0, Math.min(now - intended, HIGHEST_NANOS)));
    }
    // After the recording, so that a reader who sees the count also finds the latency.
    started.incrementAndGet();
    return null;
  }
}
