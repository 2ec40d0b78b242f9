package io.taskbroker.common.sql;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Supplier;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.StatementContext;

/**
 * Maps a {@code taskbroker.jobs} row to a {@link Job}, decoding each JSON column on its own: a
 * column this JVM cannot decode (PostgreSQL accepts deeper nesting than {@link Json#MAX_DEPTH})
 * becomes a placeholder and is named in {@link Job#decodeError()}, so the row still maps and the
 * other rows of the same claim or list are not affected. Stateless and thread-safe.
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
        json(rs, c.errors, "errors", () -> Json.mapper().createArrayNode(), undecodable);
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
        rs.getString(c.workerId),
        instant(rs, c.heartbeatAt),
        instant(rs, c.leaseExpiresAt),
        nullableFloat(rs, c.progress),
        rs.getString(c.progressMessage),
        result,
        rs.getString(c.error),
        errors,
        rs.getString(c.uniqueKey),
        instant(rs, c.cancelRequestedAt),
        rs.getString(c.concurrencyKey),
        undecodable.isEmpty() ? null : String.join("; ", undecodable));
  }

  /** The 1-based index of each column of taskbroker.jobs in one result set. */
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
      return new Columns(
          rs.findColumn("id"),
          rs.findColumn("queue"),
          rs.findColumn("plugin"),
          rs.findColumn("payload"),
          rs.findColumn("metadata"),
          rs.findColumn("status"),
          rs.findColumn("priority"),
          rs.findColumn("run_at"),
          rs.findColumn("attempt"),
          rs.findColumn("max_attempts"),
          rs.findColumn("timeout_ms"),
          rs.findColumn("created_at"),
          rs.findColumn("started_at"),
          rs.findColumn("completed_at"),
          rs.findColumn("worker_id"),
          rs.findColumn("heartbeat_at"),
          rs.findColumn("lease_expires_at"),
          rs.findColumn("progress"),
          rs.findColumn("progress_message"),
          rs.findColumn("result"),
          rs.findColumn("error"),
          rs.findColumn("errors"),
          rs.findColumn("unique_key"),
          rs.findColumn("cancel_requested_at"),
          rs.findColumn("concurrency_key"));
    }
  }

  // The typed getters: pgjdbc's untyped getObject goes through a switch over every SQL type.
  private static Integer nullableInt(ResultSet rs, int column) throws SQLException {
    int value = rs.getInt(column);
    return rs.wasNull() ? null : value;
  }

  private static Float nullableFloat(ResultSet rs, int column) throws SQLException {
    float value = rs.getFloat(column);
    return rs.wasNull() ? null : value;
  }

  static Instant instant(ResultSet rs, int column) throws SQLException {
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
    String text = rs.getString(column);
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
