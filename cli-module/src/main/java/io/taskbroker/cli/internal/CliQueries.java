package io.taskbroker.cli.internal;

import io.taskbroker.common.DatabaseException;
import io.taskbroker.common.SqlStates;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;

/**
 * The command line's own reads, for {@code stats} and {@code migrate}: the fleet ({@code
 * taskbroker.workers}), pending jobs nobody can run ({@code taskbroker.unserved_jobs}) and the
 * schema version. Every statement is a constant here. Stateless apart from the Jdbi; thread-safe.
 */
public final class CliQueries {
  /** The last applied versioned migration. */
  static final String SCHEMA_VERSION =
      """
      SELECT version
        FROM taskbroker.taskbroker_schema_history
       WHERE success AND version IS NOT NULL
       ORDER BY installed_rank DESC
       LIMIT 1
      """;

  /** Every registered worker with how many jobs it runs now (the partial index covers it). */
  static final String WORKERS =
      """
      SELECT w.id, w.host, w.pid, w.queues::text AS queues,
             array_to_string(ARRAY(SELECT unnest(w.plugins) ORDER BY 1), ',') AS plugins, w.concurrency,
             w.started_at, w.last_heartbeat_at,
             (SELECT count(*) FROM taskbroker.job_queue j
               WHERE j.status = 'running' AND j.worker_id = w.id) AS running
        FROM taskbroker.workers w
       ORDER BY w.started_at, w.id
      """;

  /** Pending jobs, per queue and plugin, that no live worker serves. */
  static final String UNSERVED =
      """
      SELECT queue, plugin, pending, oldest_created_at
        FROM taskbroker.unserved_jobs
       ORDER BY queue, plugin
      """;

  private final Jdbi jdbi;

  public CliQueries(Jdbi jdbi) {
    this.jdbi = jdbi;
  }

  /** A row of {@code taskbroker.workers}. */
  public record WorkerRow(
      String id,
      String host,
      long pid,
      String queuesJson,
      String plugins,
      int concurrency,
      Instant startedAt,
      Instant lastHeartbeatAt,
      long running) {}

  /** A row of {@code taskbroker.unserved_jobs}. */
  public record UnservedRow(String queue, String plugin, long pending, Instant oldestCreatedAt) {}

  /** The schema version, or empty when no migration was ever applied. */
  public Optional<String> schemaVersion() {
    return call(handle -> handle.createQuery(SCHEMA_VERSION).mapTo(String.class).findOne());
  }

  public List<WorkerRow> workers() {
    return call(
        handle ->
            handle
                .createQuery(WORKERS)
                .map(
                    (rs, ctx) ->
                        new WorkerRow(
                            rs.getString("id"),
                            rs.getString("host"),
                            rs.getLong("pid"),
                            rs.getString("queues"),
                            rs.getString("plugins"),
                            rs.getInt("concurrency"),
                            instant(rs, "started_at"),
                            instant(rs, "last_heartbeat_at"),
                            rs.getLong("running")))
                .list());
  }

  public List<UnservedRow> unserved() {
    return call(
        handle ->
            handle
                .createQuery(UNSERVED)
                .map(
                    (rs, ctx) ->
                        new UnservedRow(
                            rs.getString("queue"),
                            rs.getString("plugin"),
                            rs.getLong("pending"),
                            instant(rs, "oldest_created_at")))
                .list());
  }

  private static Instant instant(ResultSet rs, String column) throws SQLException {
    OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }

  private <T> T call(HandleCallback<T, RuntimeException> callback) {
    try {
      return jdbi.withHandle(callback);
    } catch (JdbiException e) {
      throw new DatabaseException(sqlMessage(e), SqlStates.of(e), e);
    }
  }

  private static String sqlMessage(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException sql) {
        return sql.getMessage();
      }
    }
    return e.getMessage();
  }
}
