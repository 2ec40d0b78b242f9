package io.taskbroker.metrics.internal;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.taskbroker.common.Database;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The per-queue gauges, refreshed by one query ({@code queue_gauges.sql}) on a period, on one
 * daemon thread of its own, started by {@link #start} and ended by {@link #stop}. A scrape reads
 * the last values and never the database. A queue once seen keeps its gauges; when it has no live
 * job they read zero. Thread-safe.
 */
public final class QueueGauges {
  private static final Logger LOG = LoggerFactory.getLogger(QueueGauges.class);
  private static final String SQL = load("queue_gauges.sql");

  private final MeterRegistry registry;
  private final Database database;
  private final Duration interval;
  private final Map<String, QueueState> queues = new ConcurrentHashMap<>();
  private final List<Meter> meters = new CopyOnWriteArrayList<>();
  private final Object lifecycle = new Object();
  private ScheduledExecutorService timer; // guarded by lifecycle
  private volatile boolean failing;
  private volatile Instant lastRefreshAt;

  public QueueGauges(MeterRegistry registry, Database database, Duration interval) {
    this.registry = registry;
    this.database = database;
    this.interval = interval;
  }

  /** The values of one queue; the gauges read these fields. */
  private static final class QueueState {
    volatile long ready;
    volatile long scheduled;
    volatile long running;
    volatile double oldestReadySeconds;
  }

  /** Starts refreshing now and then every interval; safe twice. */
  public void start() {
    synchronized (lifecycle) {
      if (timer != null) {
        return;
      }
      timer =
          Executors.newSingleThreadScheduledExecutor(
              runnable -> {
                Thread thread = new Thread(runnable, "taskbroker-metrics-queue-stats");
                thread.setDaemon(true);
                return thread;
              });
      timer.scheduleWithFixedDelay(
          this::refreshQuietly, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /** Stops refreshing and removes the gauges from the registry; safe twice or before start. */
  public void stop() {
    synchronized (lifecycle) {
      if (timer != null) {
        timer.shutdownNow();
        timer = null;
      }
    }
    meters.forEach(registry::remove);
    meters.clear();
    queues.clear();
  }

  /** Gauges for these queues now, reading zero until the next refresh. */
  public void include(Set<String> names) {
    names.forEach(this::state);
  }

  /** When the last refresh succeeded; null before the first. */
  public Instant lastRefreshAt() {
    return lastRefreshAt;
  }

  /**
   * Runs the query and updates every gauge now, on the caller's thread.
   *
   * @throws SQLException when the query fails; the gauges keep their last values
   */
  public void refresh() throws SQLException {
    Set<String> seen = new HashSet<>();
    try (Connection connection = database.dataSource().getConnection();
        PreparedStatement statement = connection.prepareStatement(SQL)) {
      // A slow database must not pile refreshes up behind this one.
      statement.setQueryTimeout((int) Math.max(1, interval.toSeconds()));
      try (ResultSet rows = statement.executeQuery()) {
        while (rows.next()) {
          String queue = rows.getString("queue");
          QueueState state = state(queue);
          state.ready = rows.getLong("ready");
          state.scheduled = rows.getLong("scheduled");
          state.running = rows.getLong("running");
          state.oldestReadySeconds = Math.max(0, rows.getLong("oldest_ready_ms")) / 1000.0;
          seen.add(queue);
        }
      }
    }
    for (Map.Entry<String, QueueState> entry : queues.entrySet()) {
      if (!seen.contains(entry.getKey())) {
        QueueState state = entry.getValue();
        state.ready = 0;
        state.scheduled = 0;
        state.running = 0;
        state.oldestReadySeconds = 0;
      }
    }
    lastRefreshAt = Instant.now();
  }

  /** The timer's body: never throws, so the schedule never ends unseen. */
  private void refreshQuietly() {
    try {
      refresh();
      if (failing) {
        failing = false;
        LOG.info("Queue gauges are read again");
      }
    } catch (VirtualMachineError e) {
      LOG.error(
          "Queue gauges: the refresh thread ends on {}; the gauges stop moving", e.toString());
      throw e;
    } catch (SQLException | RuntimeException | Error e) {
      if (!failing) {
        failing = true;
        LOG.warn(
            "Queue gauges could not be read ({}); they keep their last values, and the next try"
                + " is in {} ms",
            e.toString(),
            interval.toMillis());
      } else {
        LOG.debug("Queue gauges still unreadable: {}", e.toString());
      }
    }
  }

  private QueueState state(String queue) {
    return queues.computeIfAbsent(
        queue,
        name -> {
          QueueState state = new QueueState();
          meters.add(
              Gauge.builder("taskbroker.queue.ready", state, s -> s.ready)
                  .tag("queue", name)
                  .description("Pending jobs whose run_at has come")
                  .register(registry));
          meters.add(
              Gauge.builder("taskbroker.queue.scheduled", state, s -> s.scheduled)
                  .tag("queue", name)
                  .description("Pending jobs whose run_at is still ahead")
                  .register(registry));
          meters.add(
              Gauge.builder("taskbroker.queue.running", state, s -> s.running)
                  .tag("queue", name)
                  .description("Running jobs")
                  .register(registry));
          meters.add(
              Gauge.builder("taskbroker.queue.oldest_ready_age", state, s -> s.oldestReadySeconds)
                  .tag("queue", name)
                  .baseUnit("seconds")
                  .description("How long the oldest ready job has waited since its run_at")
                  .register(registry));
          return state;
        });
  }

  private static String load(String name) {
    try (InputStream in = QueueGauges.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("missing SQL resource " + name);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
