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
import java.util.UUID;
import org.jdbi.v3.core.mapper.RowMapper;
import org.jdbi.v3.core.statement.StatementContext;

/** Maps a {@code taskbroker.jobs} row to a {@link Job}. Stateless and thread-safe. */
final class JobRowMapper implements RowMapper<Job> {
  static final JobRowMapper INSTANCE = new JobRowMapper();

  private JobRowMapper() {}

  @Override
  public Job map(ResultSet rs, StatementContext ctx) throws SQLException {
    return new Job(
        rs.getObject("id", UUID.class),
        rs.getString("queue"),
        rs.getString("plugin"),
        (ObjectNode) json(rs, "payload"),
        (ObjectNode) json(rs, "metadata"),
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
        json(rs, "result"),
        rs.getString("error"),
        json(rs, "errors"),
        rs.getString("unique_key"),
        instant(rs, "cancel_requested_at"));
  }

  static Instant instant(ResultSet rs, String column) throws SQLException {
    OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }

  private static JsonNode json(ResultSet rs, String column) throws SQLException {
    String text = rs.getString(column);
    return text == null ? null : Json.parse(text);
  }
}
