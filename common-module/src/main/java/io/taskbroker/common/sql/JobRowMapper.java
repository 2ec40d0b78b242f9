package io.taskbroker.common.sql;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * Maps a {@code taskbroker.jobs} row to a {@link Job}, decoding each JSON column on its own: a
 * column this JVM cannot decode (PostgreSQL accepts deeper nesting than {@link Json#MAX_DEPTH})
 * becomes a placeholder and is named in {@link Job#decodeError()}, so the row still maps and the
 * other rows of the same claim or list are not affected.
 *
 * <p>The required columns are the ones that say what a job is ({@code id}, {@code queue}, {@code
 * plugin}, {@code status}, {@code priority}, {@code run_at}, {@code attempt}, {@code
 * max_attempts}); any other may be left out of the select list, and maps to null (an empty array
 * for {@code errors}): a listing without bodies leaves out the payload and everything after it. The
 * claim leaves out what only the attempts before it wrote (errors, their traces, progress, the
 * lease it just set): a job retried many times would otherwise ship its whole attempt history to
 * the worker, and be parsed there, on every claim. Stateless and thread-safe.
 */
final class JobRowMapper implements RowMapper<Job> {
  /** Looks each column up by name on every row; {@link #of} and Jdbi's specialize do it once. */
  static final JobRowMapper INSTANCE = new JobRowMapper(null);

  // Null: look the columns up for each row.
  private final Columns columns;

  private JobRowMapper(Columns columns) {
    this.columns = columns;
  }

  /**
   * A mapper for the rows of this result set, each column's index looked up once: a claim maps up
   * to hundreds of rows of 26 columns, and a lookup by name is a hash probe (and a lower-casing
   * when the name is not found as written) per column per row.
   */
  static JobRowMapper of(ResultSet rs) throws SQLException {
    return new JobRowMapper(Columns.of(rs));
  }

  @Override
  public RowMapper<Job> specialize(ResultSet rs, StatementContext ctx) throws SQLException {
    return of(rs);
  }

  @Override
  public Job map(ResultSet rs, StatementContext ctx) throws SQLException {
    Columns c = columns != null ? columns : Columns.of(rs);
    List<String> undecodable = new ArrayList<>(0);
    ObjectNode payload = object(rs, c.payload, "payload", undecodable);
    ObjectNode metadata = object(rs, c.metadata, "metadata", undecodable);
    JsonNode result = json(rs, c.result, "result", () -> null, undecodable);
    JsonNode errors =
        c.errors == ABSENT
            ? Json.mapper().createArrayNode()
            : json(rs, c.errors, "errors", () -> Json.mapper().createArrayNode(), undecodable);
    return new Job(
        rs.getObject(c.id, UUID.class),
        rs.getString(c.queue),
        rs.getString(c.plugin),
        payload,
        metadata,
        JobStatus.parse(rs.getString(c.status)),
        rs.getInt(c.priority),
        instant(rs, c.runAt),
        rs.getInt(c.attempt),
        rs.getInt(c.maxAttempts),
        nullableInt(rs, c.timeoutMs),
        instant(rs, c.createdAt),
        instant(rs, c.startedAt),
        instant(rs, c.completedAt),
        string(rs, c.workerId),
        instant(rs, c.heartbeatAt),
        instant(rs, c.leaseExpiresAt),
        nullableFloat(rs, c.progress),
        string(rs, c.progressMessage),
        result,
        string(rs, c.error),
        errors,
        string(rs, c.uniqueKey),
        instant(rs, c.cancelRequestedAt),
        string(rs, c.concurrencyKey),
        undecodable.isEmpty() ? null : String.join("; ", undecodable));
  }

  /** The index of a column the result set does not have. */
  private static final int ABSENT = 0;

  /**
   * The 1-based index of each column of taskbroker.jobs in one result set, {@link #ABSENT} for an
   * optional one it does not have.
   */
  private record Columns(
      int id,
      int queue,
      int plugin,
      int payload,
      int metadata,
      int status,
      int priority,
      int runAt,
      int attempt,
      int maxAttempts,
      int timeoutMs,
      int createdAt,
      int startedAt,
      int completedAt,
      int workerId,
      int heartbeatAt,
      int leaseExpiresAt,
      int progress,
      int progressMessage,
      int result,
      int error,
      int errors,
      int uniqueKey,
      int cancelRequestedAt,
      int concurrencyKey) {
    static Columns of(ResultSet rs) throws SQLException {
      ResultSetMetaData meta = rs.getMetaData();
      Map<String, Integer> byName = new HashMap<>();
      for (int i = meta.getColumnCount(); i >= 1; i--) {
        byName.put(meta.getColumnLabel(i), i);
      }
      return new Columns(
          required(byName, "id"),
          required(byName, "queue"),
          required(byName, "plugin"),
          byName.getOrDefault("payload", ABSENT),
          byName.getOrDefault("metadata", ABSENT),
          required(byName, "status"),
          required(byName, "priority"),
          required(byName, "run_at"),
          required(byName, "attempt"),
          required(byName, "max_attempts"),
          byName.getOrDefault("timeout_ms", ABSENT),
          byName.getOrDefault("created_at", ABSENT),
          byName.getOrDefault("started_at", ABSENT),
          byName.getOrDefault("completed_at", ABSENT),
          byName.getOrDefault("worker_id", ABSENT),
          byName.getOrDefault("heartbeat_at", ABSENT),
          byName.getOrDefault("lease_expires_at", ABSENT),
          byName.getOrDefault("progress", ABSENT),
          byName.getOrDefault("progress_message", ABSENT),
          byName.getOrDefault("result", ABSENT),
          byName.getOrDefault("error", ABSENT),
          byName.getOrDefault("errors", ABSENT),
          byName.getOrDefault("unique_key", ABSENT),
          byName.getOrDefault("cancel_requested_at", ABSENT),
          byName.getOrDefault("concurrency_key", ABSENT));
    }

    private static int required(Map<String, Integer> byName, String name) throws SQLException {
      Integer index = byName.get(name);
      if (index == null) {
        throw new SQLException("a job row needs the column " + name + "; the result set has none");
      }
      return index;
    }
  }

  // The typed getters: pgjdbc's untyped getObject goes through a switch over every SQL type.
  private static String string(ResultSet rs, int column) throws SQLException {
    return column == ABSENT ? null : rs.getString(column);
  }

  private static Integer nullableInt(ResultSet rs, int column) throws SQLException {
    if (column == ABSENT) {
      return null;
    }
    int value = rs.getInt(column);
    return rs.wasNull() ? null : value;
  }

  private static Float nullableFloat(ResultSet rs, int column) throws SQLException {
    if (column == ABSENT) {
      return null;
    }
    float value = rs.getFloat(column);
    return rs.wasNull() ? null : value;
  }

  static Instant instant(ResultSet rs, int column) throws SQLException {
    if (column == ABSENT) {
      return null;
    }
    OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }

  static Instant instant(ResultSet rs, String column) throws SQLException {
    OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }

  private static ObjectNode object(ResultSet rs, int column, String name, List<String> undecodable)
      throws SQLException {
    JsonNode node = json(rs, column, name, Json::object, undecodable);
    // The table's CHECK constraints keep payload and metadata JSON objects.
    return node == null || node instanceof ObjectNode ? (ObjectNode) node : Json.object();
  }

  /** The column decoded, or the placeholder with the reason added to {@code undecodable}. */
  private static JsonNode json(
      ResultSet rs,
      int column,
      String name,
      Supplier<JsonNode> placeholder,
      List<String> undecodable)
      throws SQLException {
    String text = column == ABSENT ? null : rs.getString(column);
    if (text == null) {
      return null;
    }
    // Most rows' metadata is {} and their errors []: new nodes without a parser each.
    if (text.equals("{}")) {
      return Json.object();
    }
    if (text.equals("[]")) {
      return Json.mapper().createArrayNode();
    }
    try {
      return Json.parseStored(text);
    } catch (RuntimeException e) {
      undecodable.add(name + " cannot be decoded by this JVM: " + e.getMessage());
      return placeholder.get();
    }
  }
}
