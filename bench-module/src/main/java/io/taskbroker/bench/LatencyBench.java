package io.taskbroker.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.Database;
import io.taskbroker.common.Json;
import io.taskbroker.common.NewJob;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.WorkerConfig;
import io.taskbroker.worker.plugins.PluginRegistry;
import java.io.PrintStream;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;

/**
 * Submit-to-start latency, with one worker in this JVM (as the peers measured it) so the submit and
 * the plugin's start read the same {@link System#nanoTime()} clock.
 *
 * <ul>
 *   <li>idle: one job at a time; each sample waits U(0, gap), takes t0, submits, and waits for the
 *       job to start: latency = start − t0, which includes the submit's own commit. Measured twice:
 *       with the client waking the in-process worker directly, and with a client that leaves it to
 *       the NOTIFY, as for a worker in another process;
 *   <li>open loop: jobs are submitted on a fixed timetable (rate per second) by several sender
 *       threads whatever happens, and latency is measured from each job's <em>intended</em> send
 *       time, so a stall of the senders or the worker shows in full (no coordinated omission).
 * </ul>
 *
 * <p>Not thread-safe; one run at a time.
 */
final class LatencyBench {
  private static final long HIGHEST_NANOS = TimeUnit.SECONDS.toNanos(120);
  private static final Duration START_TIMEOUT = Duration.ofSeconds(30);
  private static final int WARM_UP_SAMPLES = 50;

  private final BenchSettings settings;
  private final Database database;
  private final TaskBrokerClient client;
  private final BenchDatabase monitor;
  private final PrintStream log;

  LatencyBench(
      BenchSettings settings,
      Database database,
      TaskBrokerClient client,
      BenchDatabase monitor,
      PrintStream log) {
    this.settings = settings;
    this.database = database;
    this.client = client;
    this.monitor = monitor;
    this.log = log;
  }

  /** Idle latency, then (when a rate is set) open-loop latency, on one in-process worker. */
  ObjectNode run(String queue) throws SQLException, InterruptedException {
    ObjectNode result = Json.object();
    result.put("queue", queue);
    result.put("worker_concurrency", settings.latencyConcurrency());
    LatencyPlugin plugin = new LatencyPlugin();
    String workerId = queue + "-w";
    WorkerConfig config =
        WorkerConfig.builder()
            .workerId(workerId)
            .queue(queue, settings.latencyConcurrency())
            .build();
    Worker worker = Worker.start(database, config, PluginRegistry.of(List.of(plugin)));
    try {
      log.printf("latency: warming up (%d samples)%n", WARM_UP_SAMPLES);
      ObjectNode warmUp = idle(client, plugin, queue, WARM_UP_SAMPLES);
      if (!warmUp.path("ok").asBoolean()) {
        result.set("idle", warmUp);
        result.put("ok", false);
        result.put("failure", "warm-up: " + warmUp.path("failure").asText());
        return result;
      }
      log.printf(
          "latency: %d idle samples, gap U(0, %d ms)%n",
          settings.latencySamples(), settings.latencyGap().toMillis());
      ObjectNode idle = idle(client, plugin, queue, settings.latencySamples());
      result.set("idle", idle);
      boolean ok = idle.path("ok").asBoolean();
      String failure = idle.path("failure").asText(null);
      // The same from a client that does not wake its JVM's workers directly, so the worker
      // learns of each job from the NOTIFY, as a worker in another process does.
      log.printf(
          "latency: %d idle samples woken by NOTIFY only, gap U(0, %d ms)%n",
          settings.latencySamples(), settings.latencyGap().toMillis());
      ObjectNode viaNotify;
      try (TaskBrokerClient notifyOnly =
          TaskBrokerClient.create(
              database, ClientConfig.builder().migrate(false).wakeLocalWorkers(false).build())) {
        viaNotify = idle(notifyOnly, plugin, queue, settings.latencySamples());
      }
      result.set("idle_notify", viaNotify);
      if (ok && !viaNotify.path("ok").asBoolean()) {
        ok = false;
        failure = viaNotify.path("failure").asText();
      }
      if (settings.rate() > 0) {
        log.printf(
            "latency: open loop at %.0f/s for %d ms from %d sender(s)%n",
            settings.rate(), settings.rateDuration().toMillis(), settings.rateSenders());
        ObjectNode open = openLoop(plugin, queue);
        result.set("open_loop", open);
        if (!open.path("ok").asBoolean()) {
          ok = false;
          failure = open.path("failure").asText();
        }
      }
      result.put("ok", ok);
      if (failure != null) {
        result.put("failure", failure);
      }
      return result;
    } finally {
      worker.shutdown(Duration.ofSeconds(10));
      monitor.deleteQueue(queue);
      monitor.deleteWorkers(workerId);
    }
  }

  private ObjectNode idle(TaskBrokerClient client, LatencyPlugin plugin, String queue, int samples)
      throws InterruptedException, SQLException {
    ObjectNode result = Json.object();
    result.put("samples", samples);
    result.put("gap_ms", settings.latencyGap().toMillis());
    int round = plugin.begin(samples);
    Semaphore started = plugin.started();
    Histogram latency = histogram();
    Histogram submit = histogram();
    long gapNanos = settings.latencyGap().toNanos();
    List<UUID> ids = new ArrayList<>(samples);
    long[] submittedMicros = new long[samples];
    for (int i = 0; i < samples; i++) {
      NewJob job = sample(queue, round, i);
      if (gapNanos > 0) {
        LockSupport.parkNanos(ThreadLocalRandom.current().nextLong(gapNanos + 1));
      }
      long t0 = System.nanoTime();
      ids.add(client.submit(job));
      long submitted = System.nanoTime();
      submittedMicros[i] = BenchWorkerMain.epochMicros();
      if (!started.tryAcquire(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        result.put("ok", false);
        result.put("failure", "sample " + i + " did not start within " + START_TIMEOUT);
        return result;
      }
      record(latency, plugin.startNanos(i) - t0);
      record(submit, submitted - t0);
    }
    result.put("ok", true);
    result.setAll(summary(latency));
    result.set("submit", summary(submit));
    // Where the time after the submit goes, from the claim's started_at (the claim
    // transaction's start, by the database's clock, which is this host's clock when local):
    // submit returned -> claim began (NOTIFY delivery, waking the producer), and claim began ->
    // plugin started (the claim statement and its commit, handing the job to a thread).
    Map<UUID, Long> claimed = monitor.claimStartMicros(ids);
    Histogram toClaim = histogram();
    Histogram claimToStart = histogram();
    for (int i = 0; i < samples; i++) {
      Long claimMicros = claimed.get(ids.get(i));
      if (claimMicros != null) {
        record(toClaim, (claimMicros - submittedMicros[i]) * 1000);
        record(claimToStart, (plugin.startMicros(i) - claimMicros) * 1000);
      }
    }
    result.set("after_submit_until_claim_began", summary(toClaim));
    result.set("claim_began_until_plugin_start", summary(claimToStart));
    return result;
  }

  private ObjectNode openLoop(LatencyPlugin plugin, String queue) throws InterruptedException {
    double rate = settings.rate();
    int samples = (int) Math.max(1, Math.round(rate * settings.rateDuration().toNanos() / 1e9));
    ObjectNode result = Json.object();
    result.put("rate_per_sec", rate);
    result.put("samples", samples);
    result.put("senders", settings.rateSenders());
    int round = plugin.begin(samples);
    Semaphore started = plugin.started();
    long[] intended = new long[samples];
    Histogram lag = histogram();
    AtomicInteger next = new AtomicInteger();
    long base = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50);
    for (int i = 0; i < samples; i++) {
      intended[i] = base + (long) (i * 1e9 / rate);
    }
    ExecutorService senders = Executors.newFixedThreadPool(settings.rateSenders());
    String failure = null;
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int s = 0; s < settings.rateSenders(); s++) {
        futures.add(
            senders.submit(
                () -> {
                  for (int i = next.getAndIncrement(); i < samples; i = next.getAndIncrement()) {
                    NewJob job = sample(queue, round, i);
                    long wait;
                    while ((wait = intended[i] - System.nanoTime()) > 0) {
                      LockSupport.parkNanos(wait);
                    }
                    long sending = System.nanoTime();
                    synchronized (lag) {
                      record(lag, sending - intended[i]);
                    }
                    client.submit(job);
                  }
                }));
      }
      failure = Senders.awaitAll(futures, "a submit");
    } finally {
      senders.shutdownNow();
    }
    long elapsedNanos = System.nanoTime() - base;
    result.put("achieved_submit_rate_per_sec", samples / (elapsedNanos / 1e9));
    if (failure == null
        && !started.tryAcquire(samples, START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
      failure =
          (samples - started.availablePermits())
              + " of "
              + samples
              + " jobs did not start within "
              + START_TIMEOUT
              + " after the last submit";
    }
    Histogram latency = histogram();
    for (int i = 0; i < samples; i++) {
      long start = plugin.startNanos(i);
      if (start != 0) {
        record(latency, start - intended[i]);
      }
    }
    result.put("ok", failure == null);
    if (failure != null) {
      result.put("failure", failure);
    }
    result.setAll(summary(latency));
    result.set("sender_lag", summary(lag));
    return result;
  }

  private static NewJob sample(String queue, int round, int index) {
    return NewJob.builder(LatencyPlugin.NAME)
        .queue(queue)
        .payload(Map.of("round", round, "i", index))
        .build();
  }

  private static Histogram histogram() {
    return new Histogram(HIGHEST_NANOS, 3);
  }

  private static void record(Histogram histogram, long nanos) {
    histogram.recordValue(Math.max(0, Math.min(nanos, HIGHEST_NANOS)));
  }

  /** Count, mean and percentiles in milliseconds. */
  static ObjectNode summary(Histogram histogram) {
    ObjectNode json = Json.object();
    json.put("count", histogram.getTotalCount());
    if (histogram.getTotalCount() == 0) {
      return json;
    }
    json.put("mean_ms", millis(histogram.getMean()));
    json.put("p50_ms", millis(histogram.getValueAtPercentile(50)));
    json.put("p90_ms", millis(histogram.getValueAtPercentile(90)));
    json.put("p99_ms", millis(histogram.getValueAtPercentile(99)));
    json.put("p999_ms", millis(histogram.getValueAtPercentile(99.9)));
    json.put("max_ms", millis(histogram.getMaxValue()));
    return json;
  }

  private static double millis(double nanos) {
    return Math.round(nanos / 1_000.0) / 1_000.0;
  }
}
