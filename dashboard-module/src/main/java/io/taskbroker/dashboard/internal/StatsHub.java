package io.taskbroker.dashboard.internal;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.sse.SseClient;
import io.taskbroker.api.Queues;
import io.taskbroker.api.internal.Channels;
import io.taskbroker.api.internal.PgNotifier;
import io.taskbroker.common.Database;
import io.taskbroker.common.Json;
import io.taskbroker.common.QueueLimits;
import io.taskbroker.common.QueueSettings;
import java.sql.Array;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one source of live data of a dashboard process, however many tabs are open. Every {@code
 * statsInterval} one thread runs the statistics reads (live counts from the partial indexes, the
 * finished jobs of the last minute or two from the completed_at index, the jobs some tab is
 * watching by id) and pushes the snapshot to every open event stream; final states arrive between
 * ticks from the Database's shared LISTEN connection ({@code taskbroker_job_events}). The last hour
 * of per-minute throughput, failures and latency percentiles is kept here in memory, read once at
 * start: the charts and sparklines never query the jobs table. Thread-safe.
 */
public final class StatsHub implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StatsHub.class);
  static final int MINUTES = 60;
  private static final String ALL = "";

  private record Bucket(
      long completed, long failed, long cancelled, double[] runMs, double[] waitMs) {}

  private record Stream(SseClient client, UUID watching) {}

  private final Queries queries;
  private final Queues queueSettings;
  private final Database database;
  private final Duration interval;
  private final NavigableMap<Instant, Map<String, Bucket>> buckets = new ConcurrentSkipListMap<>();
  private final Set<Stream> streams = ConcurrentHashMap.newKeySet();
  private final Object lifecycle = new Object();
  private volatile ObjectNode snapshot = Json.object();
  private volatile boolean loaded;
  private volatile boolean failing;
  private ScheduledExecutorService ticker;
  private PgNotifier.Subscription subscription;

  public StatsHub(Database database, Queries queries, Queues queueSettings, Duration interval) {
    this.database = database;
    this.queries = queries;
    this.queueSettings = queueSettings;
    this.interval = interval;
  }

  /** Starts the ticking thread and the LISTEN subscription; safe to call twice. */
  public void start() {
    synchronized (lifecycle) {
      if (ticker != null) {
        return;
      }
      ticker =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread thread = new Thread(r, "taskbroker-dashboard-stats");
                thread.setDaemon(true);
                return thread;
              });
      ticker.scheduleWithFixedDelay(this::tick, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
      subscription =
          PgNotifier.of(database)
              .subscribe(
                  Channels.JOB_EVENTS,
                  new PgNotifier.Subscriber() {
                    @Override
                    public void notified(String payload) {
                      finished(payload);
                    }
                  });
    }
  }

  /** Runs one tick now (tests, and right after an action so the pages see it at once). */
  public void refresh() {
    ScheduledExecutorService current;
    synchronized (lifecycle) {
      current = ticker;
    }
    if (current != null) {
      current.execute(this::tick);
    }
  }

  /** The last snapshot: queues with live counts, last-hour totals and sparklines. */
  public ObjectNode snapshot() {
    return snapshot;
  }

  public boolean loaded() {
    return loaded;
  }

  public void register(SseClient client, UUID watching) {
    Stream stream = new Stream(client, watching);
    streams.add(stream);
    client.onClose(() -> streams.remove(stream));
    send(stream, "stats", snapshot);
    if (watching != null) {
      refresh();
    }
  }

  public int streamCount() {
    return streams.size();
  }

  private void tick() {
    try {
      Instant now = Instant.now();
      Instant since =
          loaded
              ? now.truncatedTo(ChronoUnit.MINUTES).minus(1, ChronoUnit.MINUTES)
              : now.truncatedTo(ChronoUnit.MINUTES).minus(MINUTES - 1, ChronoUnit.MINUTES);
      List<Map<String, Object>> rows = queries.finishedBuckets(since);
      mergeBuckets(since, rows);
      loaded = true;
      ObjectNode next = buildSnapshot(now);
      snapshot = next;
      Set<UUID> watched = new HashSet<>();
      for (Stream stream : streams) {
        if (stream.watching() != null) {
          watched.add(stream.watching());
        }
      }
      Map<UUID, ObjectNode> jobs = new HashMap<>();
      for (Map<String, Object> row : queries.watched(watched)) {
        jobs.put((UUID) row.get("id"), Queries.toJson(row));
      }
      for (Stream stream : streams) {
        send(stream, "stats", next);
        if (stream.watching() != null && jobs.containsKey(stream.watching())) {
          send(stream, "job", jobs.get(stream.watching()));
        }
      }
      if (failing) {
        failing = false;
        LOG.info("Dashboard statistics are read again");
      }
    } catch (RuntimeException e) {
      // A tick that fails keeps the last snapshot (marked stale) and tries again next interval.
      if (!failing) {
        failing = true;
        LOG.warn(
            "Dashboard statistics could not be read; pages show the last ones: {}", e.toString());
      }
      ObjectNode stale = snapshot.deepCopy();
      stale.put("stale", true);
      snapshot = stale;
    }
  }

  private void mergeBuckets(Instant since, List<Map<String, Object>> rows) {
    Map<Instant, Map<String, Bucket>> fresh = new TreeMap<>();
    for (Map<String, Object> row : rows) {
      Instant minute = toInstant(row.get("minute"));
      String queue = row.get("queue") == null ? ALL : (String) row.get("queue");
      fresh
          .computeIfAbsent(minute, m -> new HashMap<>())
          .put(
              queue,
              new Bucket(
                  ((Number) row.get("completed")).longValue(),
                  ((Number) row.get("failed")).longValue(),
                  ((Number) row.get("cancelled")).longValue(),
                  doubles(row.get("run_ms")),
                  doubles(row.get("wait_ms"))));
    }
    buckets.tailMap(since, true).clear();
    buckets.putAll(fresh);
    Instant oldest = since.truncatedTo(ChronoUnit.MINUTES).minus(MINUTES, ChronoUnit.MINUTES);
    buckets.headMap(oldest, false).clear();
  }

  private ObjectNode buildSnapshot(Instant now) {
    Map<String, ObjectNode> queues = new TreeMap<>();
    for (Map<String, Object> row : queries.liveCounts()) {
      ObjectNode queue = queue(queues, (String) row.get("queue"));
      queue.put("ready", queue.path("ready").asLong() + number(row.get("ready")));
      queue.put("scheduled", queue.path("scheduled").asLong() + number(row.get("scheduled")));
      queue.put("running", queue.path("running").asLong() + number(row.get("running")));
      if (row.get("oldest_ready_ms") != null) {
        queue.put("oldest_ready_ms", number(row.get("oldest_ready_ms")));
      }
    }
    for (String name : queries.workerQueues()) {
      queue(queues, name);
    }
    // Pause state and limits from taskbroker.queues (one row per queue with settings: small),
    // through the client's own call, so the overview shows what the claims enforce.
    Map<String, QueueSettings> settings = new HashMap<>();
    for (QueueSettings queue : queueSettings.list()) {
      settings.put(queue.name(), queue);
      queue(queues, queue.name());
    }
    Instant first = now.truncatedTo(ChronoUnit.MINUTES).minus(MINUTES - 1, ChronoUnit.MINUTES);
    Set<String> seen = new TreeSet<>();
    buckets.tailMap(first, true).values().forEach(m -> seen.addAll(m.keySet()));
    seen.remove(ALL);
    seen.forEach(name -> queue(queues, name));

    ArrayNode list = Json.mapper().createArrayNode();
    for (Map.Entry<String, ObjectNode> entry : queues.entrySet()) {
      ObjectNode queue = entry.getValue();
      settings(queue, settings.getOrDefault(entry.getKey(), QueueSettings.unset(entry.getKey())));
      long completed = 0;
      long failed = 0;
      ArrayNode spark = queue.putArray("throughput");
      for (int i = 0; i < MINUTES; i++) {
        Bucket bucket =
            buckets.getOrDefault(first.plus(i, ChronoUnit.MINUTES), Map.of()).get(entry.getKey());
        long done = bucket == null ? 0 : bucket.completed() + bucket.failed();
        spark.add(done);
        if (bucket != null) {
          completed += bucket.completed();
          failed += bucket.failed();
        }
      }
      queue.put("completed_1h", completed);
      queue.put("failed_1h", failed);
      list.add(queue);
    }
    ObjectNode out = Json.object();
    out.put("at", now.toString());
    out.set("queues", list);
    return out;
  }

  private static void settings(ObjectNode queue, QueueSettings settings) {
    queue.put("paused", settings.paused());
    queue.put("paused_at", settings.pausedAt() == null ? null : settings.pausedAt().toString());
    QueueLimits limits = settings.limits();
    ObjectNode out = queue.putObject("limits");
    out.put("global_concurrency", limits.globalConcurrency());
    out.put("rate_limit", limits.rateLimit());
    out.put("rate_period_ms", limits.ratePeriod() == null ? null : limits.ratePeriod().toMillis());
    out.put("key_concurrency", limits.keyConcurrency());
  }

  /** Per-minute series for the charts, for all queues or one: from memory, no query. */
  public ObjectNode series(String queue) {
    String key = queue == null ? ALL : queue;
    Instant now = Instant.now();
    Instant first = now.truncatedTo(ChronoUnit.MINUTES).minus(MINUTES - 1, ChronoUnit.MINUTES);
    ObjectNode out = Json.object();
    ArrayNode minutes = out.putArray("minutes");
    ArrayNode completed = out.putArray("completed");
    ArrayNode failed = out.putArray("failed");
    ArrayNode cancelled = out.putArray("cancelled");
    ObjectNode run = out.putObject("run_ms");
    ObjectNode wait = out.putObject("wait_ms");
    String[] names = {"p50", "p95", "p99"};
    for (String name : names) {
      run.putArray(name);
      wait.putArray(name);
    }
    for (int i = 0; i < MINUTES; i++) {
      Instant minute = first.plus(i, ChronoUnit.MINUTES);
      Bucket bucket = buckets.getOrDefault(minute, Map.of()).get(key);
      minutes.add(minute.toString());
      completed.add(bucket == null ? 0 : bucket.completed());
      failed.add(bucket == null ? 0 : bucket.failed());
      cancelled.add(bucket == null ? 0 : bucket.cancelled());
      for (int p = 0; p < names.length; p++) {
        addPercentile((ArrayNode) run.get(names[p]), bucket == null ? null : bucket.runMs(), p);
        addPercentile((ArrayNode) wait.get(names[p]), bucket == null ? null : bucket.waitMs(), p);
      }
    }
    return out;
  }

  private static void addPercentile(ArrayNode into, double[] values, int index) {
    if (values == null || values.length <= index || Double.isNaN(values[index])) {
      into.addNull();
    } else {
      into.add(Math.round(values[index] * 10) / 10.0);
    }
  }

  private void finished(String payload) {
    ArrayNode events = Json.mapper().createArrayNode();
    for (String pair : payload.split(",")) {
      int colon = pair.indexOf(':');
      if (colon > 0) {
        ObjectNode event = events.addObject();
        event.put("id", pair.substring(0, colon));
        event.put("status", pair.substring(colon + 1));
      }
    }
    for (Stream stream : streams) {
      send(stream, "finished", events);
    }
  }

  private void send(Stream stream, String event, Object data) {
    try {
      if (stream.client().terminated()) {
        streams.remove(stream);
        return;
      }
      stream.client().sendEvent(event, Json.write(data));
    } catch (RuntimeException e) {
      // A tab that went away: its stream ends here; the others go on.
      streams.remove(stream);
    }
  }

  private static ObjectNode queue(Map<String, ObjectNode> queues, String name) {
    return queues.computeIfAbsent(
        name,
        n -> {
          ObjectNode queue = Json.object();
          queue.put("name", n);
          queue.put("ready", 0);
          queue.put("scheduled", 0);
          queue.put("running", 0);
          queue.putNull("oldest_ready_ms");
          return queue;
        });
  }

  private static long number(Object value) {
    return value == null ? 0 : ((Number) value).longValue();
  }

  private static Instant toInstant(Object value) {
    if (value instanceof java.sql.Timestamp ts) {
      return ts.toInstant();
    }
    if (value instanceof java.time.OffsetDateTime odt) {
      return odt.toInstant();
    }
    throw new IllegalStateException("not a timestamp: " + value);
  }

  private static double[] doubles(Object value) {
    if (value == null) {
      return null;
    }
    try {
      Object[] items = (Object[]) ((Array) value).getArray();
      double[] out = new double[items.length];
      for (int i = 0; i < items.length; i++) {
        out[i] = items[i] == null ? Double.NaN : ((Number) items[i]).doubleValue();
      }
      return out;
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read percentiles", e);
    }
  }

  /** Stops the ticking and the subscription, and ends every open stream; safe twice. */
  @Override
  public void close() {
    synchronized (lifecycle) {
      if (ticker != null) {
        ticker.shutdownNow();
        ticker = null;
      }
      if (subscription != null) {
        subscription.close();
        subscription = null;
      }
    }
    for (Stream stream : streams) {
      try {
        stream.client().close();
      } catch (RuntimeException e) {
        // already gone
      }
    }
    streams.clear();
  }
}
