package io.taskbroker.dashboard.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.common.Database;
import io.taskbroker.common.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Array;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.jdbi.v3.core.Jdbi;
import org.postgresql.util.PGobject;

/**
 * The dashboard's reads, one named {@code .sql} resource each (under {@code
 * io/taskbroker/dashboard/sql}). Each is bounded: by a partial index (pending, running, failed), a
 * range of an index (finished in the last minutes, a window of the newest rows) or a LIMIT.
 * Stateless apart from the statement cache; thread-safe.
 */
public final class Queries {
  /** Rows one jobs request examines at most; the measured cost at 10 million jobs is in README. */
  public static final int SCAN_WINDOW = 5_000;

  /** Which index a jobs window walks (a fixed fragment, never user input). */
  public enum Window {
    ALL(""),
    FAILED_OR_CANCELLED("AND j.status IN ('failed', 'cancelled')"),
    RUNNING("AND j.status = 'running'");

    final String fragment;

    Window(String fragment) {
      this.fragment = fragment;
    }
  }

  /** A filtered page request; null fields mean "any". */
  public record JobsRequest(
      List<String> statuses,
      String queue,
      String plugin,
      Instant from,
      Instant to,
      String text,
      Instant beforeAt,
      UUID beforeId,
      int limit) {}

  /** A page: the rows, how many rows the window examined, and where it ended. */
  public record JobsPage(ArrayNode rows, long scanned, Instant windowEndAt, UUID windowEndId) {}

  private static final Map<String, String> SQL = new ConcurrentHashMap<>();
  private final Jdbi jdbi;

  public Queries(Database database) {
    this.jdbi = database.jdbi();
  }

  static String sql(String name) {
    return SQL.computeIfAbsent(
        name,
        n -> {
          String path = "/io/taskbroker/dashboard/sql/" + n + ".sql";
          try (InputStream in = Queries.class.getResourceAsStream(path)) {
            if (in == null) {
              throw new IllegalStateException("missing SQL resource " + path);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
  }

  public List<Map<String, Object>> liveCounts() {
    return jdbi.withHandle(h -> h.createQuery(sql("live_counts")).mapToMap().list());
  }

  public List<Map<String, Object>> finishedBuckets(Instant since) {
    return jdbi.withHandle(
        h ->
            h.createQuery(sql("finished_buckets"))
                .bind("since", OffsetDateTime.ofInstant(since, java.time.ZoneOffset.UTC))
                .mapToMap()
                .list());
  }

  public List<String> workerQueues() {
    return jdbi.withHandle(h -> h.createQuery(sql("worker_queues")).mapTo(String.class).list());
  }

  public ArrayNode workers() {
    return jdbi.withHandle(
        h -> {
          ArrayNode out = Json.mapper().createArrayNode();
          for (Map<String, Object> row : h.createQuery(sql("workers")).mapToMap().list()) {
            ObjectNode worker = toJson(row);
            worker.set("queues", Json.parse(String.valueOf(row.get("queues"))));
            worker.set("units", Json.parse(String.valueOf(row.get("units"))));
            out.add(worker);
          }
          return out;
        });
  }

  public Optional<ObjectNode> worker(String id) {
    if (id == null) {
      return Optional.empty();
    }
    for (JsonNode worker : workers()) {
      if (id.equals(worker.path("id").asText())) {
        return Optional.of((ObjectNode) worker);
      }
    }
    return Optional.empty();
  }

  public List<Map<String, Object>> watched(Collection<UUID> ids) {
    if (ids.isEmpty()) {
      return List.of();
    }
    String[] idTexts = ids.stream().map(UUID::toString).toArray(String[]::new);
    return jdbi.withHandle(
        h ->
            h.createQuery(sql("watched_jobs"))
                .bindArray("ids", String.class, (Object[]) idTexts)
                .mapToMap()
                .list());
  }

  public JobsPage jobs(JobsRequest request, Window window) {
    String text = sql("jobs_page").replace("/*window_status*/", window.fragment);
    return jdbi.withHandle(
        h -> {
          Map<String, Object> row =
              h.createQuery(text)
                  .bind("before_at", utc(request.beforeAt()))
                  .bind("before_id", request.beforeId())
                  .bind("from", utc(request.from()))
                  .bind("to", utc(request.to()))
                  .bind("scan", scan(request, window))
                  .bindArray("statuses", String.class, request.statuses())
                  .bind("queue", request.queue())
                  .bind("plugin", request.plugin())
                  .bind("text", request.text())
                  .bind("page", request.limit() + 1)
                  .mapToMap()
                  .one();
          long scanned = ((Number) row.get("scanned")).longValue();
          ArrayNode rows = (ArrayNode) Json.parse(jsonText(row.get("rows")));
          Instant endAt = null;
          UUID endId = null;
          Object end = row.get("window_end");
          if (end != null) {
            JsonNode endNode = Json.parse(jsonText(end));
            endAt = OffsetDateTime.parse(endNode.path("at").asText()).toInstant();
            endId = UUID.fromString(endNode.path("id").asText());
          }
          return new JobsPage(rows, scanned, endAt, endId);
        });
  }

  /**
   * A window as big as the page when the index alone answers (no filter left to apply inside it),
   * else {@link #SCAN_WINDOW} rows.
   */
  static int scan(JobsRequest request, Window window) {
    boolean indexAnswers =
        request.queue() == null
            && request.plugin() == null
            && request.text() == null
            && (request.statuses().isEmpty()
                || (window == Window.RUNNING && request.statuses().equals(List.of("running"))));
    return indexAnswers ? request.limit() + 1 : SCAN_WINDOW;
  }

  public long bulkCount(List<String> statuses, String queue, String plugin, int cap) {
    return jdbi.withHandle(
        h ->
            h.createQuery(sql("bulk_count"))
                .bindArray("statuses", String.class, statuses)
                .bind("queue", queue)
                .bind("plugin", plugin)
                .bind("cap", cap)
                .mapTo(Long.class)
                .one());
  }

  public Optional<String> deleteJob(UUID id) {
    return jdbi.withHandle(
        h -> h.createQuery(sql("delete_job")).bind("id", id).mapTo(String.class).findOne());
  }

  private static OffsetDateTime utc(Instant instant) {
    return instant == null ? null : OffsetDateTime.ofInstant(instant, java.time.ZoneOffset.UTC);
  }

  private static String jsonText(Object value) {
    return value instanceof PGobject pg ? pg.getValue() : String.valueOf(value);
  }

  /** A row as JSON: timestamps as ISO-8601 UTC, arrays as arrays. */
  public static ObjectNode toJson(Map<String, Object> row) {
    ObjectNode out = Json.object();
    Map<String, Object> ordered = new LinkedHashMap<>(row);
    for (Map.Entry<String, Object> entry : ordered.entrySet()) {
      out.set(entry.getKey(), Json.toTree(plain(entry.getValue())));
    }
    return out;
  }

  static Object plain(Object value) {
    if (value instanceof Timestamp ts) {
      return ts.toInstant().toString();
    }
    if (value instanceof OffsetDateTime odt) {
      return odt.toInstant().toString();
    }
    if (value instanceof Instant instant) {
      return instant.toString();
    }
    if (value instanceof PGobject pg) {
      return pg.getValue() == null ? null : Json.parse(pg.getValue());
    }
    if (value instanceof UUID uuid) {
      return uuid.toString();
    }
    if (value instanceof Array array) {
      try {
        List<Object> items = new ArrayList<>();
        for (Object item : (Object[]) array.getArray()) {
          items.add(plain(item));
        }
        return items;
      } catch (SQLException e) {
        throw new IllegalStateException("cannot read an array column", e);
      }
    }
    if (value instanceof Double[] doubles) {
      return List.of(doubles);
    }
    return value;
  }
}
