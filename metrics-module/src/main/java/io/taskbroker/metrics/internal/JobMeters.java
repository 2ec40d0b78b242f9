package io.taskbroker.metrics.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.taskbroker.api.spi.JobEvent;
import io.taskbroker.api.spi.JobLifecycleListener;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The job counters and timers, fed by the lifecycle events. Meters are looked up once per tag set
 * and cached: an event costs a map lookup and an increment, on the worker's thread. Thread-safe.
 *
 * <p>A refused write ({@link #writeRejected}) ends the attempt as {@code lost}: the outcome was
 * dropped, as when the heartbeat finds the job gone, and the worker reports only one of the two for
 * an attempt. Its run time is measured here, from {@link #started}: the event carries none.
 */
public final class JobMeters implements JobLifecycleListener {
  private final MeterRegistry registry;
  private final boolean histograms;
  private final Map<Tags, Counter> submitted = new ConcurrentHashMap<>();
  private final Map<Tags, Counter> started = new ConcurrentHashMap<>();
  private final Map<Tags, Counter> finished = new ConcurrentHashMap<>();
  private final Map<Tags, Counter> rejected = new ConcurrentHashMap<>();
  private final Map<Tags, Timer> durations = new ConcurrentHashMap<>();
  private final Map<Tags, Timer> latencies = new ConcurrentHashMap<>();
  // Attempts whose plugin started here and have not ended: bounded by the slots of the workers
  // this listener serves (an attempt given up while stopping stays until close()).
  private final Map<Attempt, Long> running = new ConcurrentHashMap<>();
  private final Counter rescued;

  public JobMeters(MeterRegistry registry, boolean histograms) {
    this.registry = registry;
    this.histograms = histograms;
    this.rescued =
        Counter.builder("taskbroker.jobs.rescued")
            .description("Jobs a rescue pass of this process took back from a gone worker")
            .register(registry);
  }

  private record Tags(String queue, String plugin, String outcome) {}

  private record Attempt(UUID jobId, int attempt) {}

  @Override
  public void submitted(UUID jobId, String queue, String plugin) {
    submitted
        .computeIfAbsent(
            new Tags(queue, plugin, null),
            tags ->
                Counter.builder("taskbroker.jobs.submitted")
                    .tag("queue", tags.queue())
                    .tag("plugin", tags.plugin())
                    .description("Jobs submitted by clients of this process")
                    .register(registry))
        .increment();
  }

  @Override
  public void started(JobEvent job) {
    running.put(new Attempt(job.jobId(), job.attempt()), System.nanoTime());
    Tags tags = new Tags(job.queue(), job.plugin(), null);
    started
        .computeIfAbsent(
            tags,
            key ->
                Counter.builder("taskbroker.jobs.started")
                    .tag("queue", key.queue())
                    .tag("plugin", key.plugin())
                    .description("Attempts whose plugin started")
                    .register(registry))
        .increment();
    // run_at is the database's clock, now this JVM's: a skew shows as a shift; never negative.
    Duration latency =
        job.runAt() == null ? Duration.ZERO : Duration.between(job.runAt(), Instant.now());
    latencies
        .computeIfAbsent(
            tags,
            key -> {
              Timer.Builder builder =
                  Timer.builder("taskbroker.job.queue_latency")
                      .tag("queue", key.queue())
                      .tag("plugin", key.plugin())
                      .description("From a job's run_at to its plugin's start");
              return (histograms ? builder.publishPercentileHistogram() : builder)
                  .register(registry);
            })
        .record(latency.isNegative() ? Duration.ZERO : latency);
  }

  @Override
  public void finished(
      JobEvent job, OutcomeKind outcome, Duration runDuration, Duration queueLatency) {
    String name = outcome.name().toLowerCase(Locale.ROOT);
    Long startedAt = running.remove(new Attempt(job.jobId(), job.attempt()));
    ended(job, name, startedAt, runDuration);
  }

  @Override
  public void writeRejected(JobEvent job) {
    rejected
        .computeIfAbsent(
            new Tags(job.queue(), job.plugin(), null),
            tags ->
                Counter.builder("taskbroker.writes.rejected")
                    .tag("queue", tags.queue())
                    .tag("plugin", tags.plugin())
                    .description(
                        "Outcomes the fence refused: the job was no longer this worker's attempt")
                    .register(registry))
        .increment();
    Long startedAt = running.remove(new Attempt(job.jobId(), job.attempt()));
    ended(job, "lost", startedAt, null);
  }

  @Override
  public void rescued(List<UUID> jobIds) {
    rescued.increment(jobIds.size());
  }

  /** Forgets the attempts still running (their workers are gone). */
  public void clear() {
    running.clear();
  }

  private void ended(JobEvent job, String outcome, Long startedAt, Duration runDuration) {
    Tags tags = new Tags(job.queue(), job.plugin(), outcome);
    finished
        .computeIfAbsent(
            tags,
            key ->
                Counter.builder("taskbroker.jobs.finished")
                    .tag("queue", key.queue())
                    .tag("plugin", key.plugin())
                    .tag("outcome", key.outcome())
                    .description("Attempts ended, by outcome")
                    .register(registry))
        .increment();
    if (startedAt == null) {
      // The plugin never started here (cancelled before its turn): no run time to record.
      return;
    }
    Duration run =
        runDuration != null && !runDuration.isZero()
            ? runDuration
            : Duration.ofNanos(System.nanoTime() - startedAt);
    durations
        .computeIfAbsent(
            tags,
            key -> {
              Timer.Builder builder =
                  Timer.builder("taskbroker.job.duration")
                      .tag("queue", key.queue())
                      .tag("plugin", key.plugin())
                      .tag("outcome", key.outcome())
                      .description("A plugin's run time, from its start to its outcome");
              return (histograms ? builder.publishPercentileHistogram() : builder)
                  .register(registry);
            })
        .record(run.isNegative() ? Duration.ZERO : run);
  }
}
