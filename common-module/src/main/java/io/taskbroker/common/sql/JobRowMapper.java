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
  static final JobRowMapper INSTANCE = new JobRowMapper();

  private JobRowMapper() {}

  @Override
  public Job map(ResultSet rs, StatementContext ctx) throws SQLException {
    List<String> undecodable = new ArrayList<>(0);
    ObjectNode payload = object(rs, "payload", undecodable);
    ObjectNode metadata = object(rs, "metadata", undecodable);
    JsonNode result = json(rs, "result", () -> null, undecodable);
    JsonNode errors = json(rs, "errors", () -> Json.mapper().createArrayNode(), undecodable);
    return new Job(
        rs.getObject("id", UUID.class),
        rs.getString("queue"),
        rs.getString("plugin"),
        payload,
        metadata,
        JobStatus.parse(rs.getString("status")),
        rs.getInt("priority"),
        instant(rs, "run_at"),
        rs.getInt("attempt"),
        rs.getInt("max_attempts"),
        (Integer) rs.getObject("timeout_ms"),
        instant(rs, "created_at"),
        instant(rs, "started_at"),
        instant(rs, "completed_at"),
        rs.getString("worker_id"),
        instant(rs, "heartbeat_at"),
        instant(rs, "lease_expires_at"),
        (Float) rs.getObject("progress"),
        rs.getString("progress_message"),
        result,
        rs.getString("error"),
        errors,
        rs.getString("unique_key"),
        instant(rs, "cancel_requested_at"),
        rs.getString("concurrency_key"),
        undecodable.isEmpty() ? null : String.join("; ", undecodable));
  }

  static Instant instant(ResultSet rs, String column) throws SQLException {
    OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }

  private static ObjectNode object(ResultSet rs, String column, List<String> undecodable)
      throws SQLException {
    JsonNode node = json(rs, column, Json::object, undecodable);
    // The table's CHECK constraints keep payload and metadata JSON objects.
    return node == null || node instanceof ObjectNode ? (ObjectNode) node : Json.object();
  }

  /** The column decoded, or the placeholder with the reason added to {@code undecodable}. */
  private static JsonNode json(
      ResultSet rs, String column, Supplier<JsonNode> placeholder, List<String> undecodable)
      throws SQLException {
    String text = rs.getString(column);
    if (text == null) {
      return null;
    }
    try {
      return Json.parseStored(text);
    } catch (RuntimeException e) {
      undecodable.add(column + " cannot be decoded by this JVM: " + e.getMessage());
      return placeholder.get();
    }
  }
}
