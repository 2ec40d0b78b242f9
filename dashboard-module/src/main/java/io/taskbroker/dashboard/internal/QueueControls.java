package io.taskbroker.dashboard.internal;

import io.taskbroker.common.Database;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * The actions that belong to queue controls (issue #13): pause and resume a queue, retry one job,
 * and retry, cancel or delete every job of a filter. Each is the SQL function the client and psql
 * call ({@code taskbroker.pause_queue}, {@code taskbroker.retry}, {@code taskbroker.retry_jobs},
 * …), so the dashboard changes nothing a script could not. Kept in one class so the contract is in
 * one place. Stateless; thread-safe.
 */
public final class QueueControls {
  private final Jdbi jdbi;

  public QueueControls(Database database) {
    this.jdbi = database.jdbi();
  }

  /** Whether this database has queue controls at all (the table arrives with their migration). */
  public boolean available() {
    return jdbi.withHandle(
        h ->
            h.createQuery("SELECT to_regclass('taskbroker.queues') IS NOT NULL")
                .mapTo(Boolean.class)
                .one());
  }

  /** Queue name → paused, for the queues that have a row. */
  public Map<String, Boolean> paused() {
    if (!available()) {
      return Map.of();
    }
    return jdbi.withHandle(
        h -> {
          Map<String, Boolean> out = new TreeMap<>();
          h.createQuery("SELECT name, paused FROM taskbroker.queues")
              .map((rs, ctx) -> Map.entry(rs.getString(1), rs.getBoolean(2)))
              .forEach(e -> out.put(e.getKey(), e.getValue()));
          return out;
        });
  }

  public void pause(String queue) {
    call("SELECT taskbroker.pause_queue(:queue)", queue);
  }

  public void resume(String queue) {
    call("SELECT taskbroker.resume_queue(:queue)", queue);
  }

  /** Retries a failed or cancelled job; returns what the function returned, as text. */
  public String retry(UUID id) {
    return jdbi.withHandle(
        h ->
            h.createQuery("SELECT CAST(taskbroker.retry(CAST(:id AS uuid)) AS text)")
                .bind("id", id)
                .mapTo(String.class)
                .one());
  }

  /** The bulk functions, by action name. */
  public static final Set<String> BULK_ACTIONS = Set.of("retry", "cancel", "delete");

  public long bulk(String action, String queue, String plugin, String status) {
    String function =
        switch (action) {
          case "retry" -> "taskbroker.retry_jobs";
          case "cancel" -> "taskbroker.cancel_jobs";
          case "delete" -> "taskbroker.delete_jobs";
          default -> throw ApiException.badRequest("unknown bulk action '" + action + "'");
        };
    return jdbi.withHandle(
        h ->
            h.createQuery(
                    "SELECT "
                        + function
                        + "(queue => CAST(:queue AS text), plugin => CAST(:plugin AS text),"
                        + " status => CAST(:status AS text))")
                .bind("queue", queue)
                .bind("plugin", plugin)
                .bind("status", status)
                .mapTo(Long.class)
                .one());
  }

  private void call(String sql, String queue) {
    jdbi.useHandle(h -> h.createQuery(sql).bind("queue", queue).mapTo(Object.class).one());
  }
}
