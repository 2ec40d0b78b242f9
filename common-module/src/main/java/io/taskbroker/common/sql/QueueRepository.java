package io.taskbroker.common.sql;

import io.taskbroker.common.BulkResult;
import io.taskbroker.common.Database;
import io.taskbroker.common.InvalidJobException;
import io.taskbroker.common.InvalidQueueException;
import io.taskbroker.common.JobFilter;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.QueueLimits;
import io.taskbroker.common.QueueSettings;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * The statements on {@code taskbroker.queues} and the redrive and bulk actions on jobs, all through
 * the V5 SQL functions (which validate, write and tell the workers). Stateless apart from the Jdbi;
 * thread-safe.
 *
 * <p>Not a user API: the client in {@code taskbroker-api} and the CLI wrap it.
 */
public final class QueueRepository {
  private static final String LIST = Sql.load("list_queues");
  private static final String PAUSE = Sql.load("pause_queue");
  private static final String RESUME = Sql.load("resume_queue");
  private static final String SET_LIMITS = Sql.load("set_queue_limits");
  private static final String RETRY = Sql.load("retry_job");
  private static final String BULK = Sql.load("bulk_jobs");
  private static final String INVALID_PARAMETER_VALUE = "22023";

  /** A bulk action on jobs, and the statuses it takes. */
  public enum BulkAction {
    RETRY("retry_jobs", false),
    CANCEL("cancel_jobs", true),
    DELETE("delete_jobs", true);

    private final String function;
    private final boolean takesEveryJob;

    BulkAction(String function, boolean takesEveryJob) {
      this.function = function;
      this.takesEveryJob = takesEveryJob;
    }
  }

  private final Jdbi jdbi;

  public QueueRepository(Database database) {
    this.jdbi = database.jdbi();
  }

  /** Every queue that has settings, by name. */
  public List<QueueSettings> list() {
    return call(
        handle ->
            handle
                .createQuery(LIST)
                .bind("name", (String) null)
                .map((rs, ctx) -> settings(rs))
                .list());
  }

  /** The queue's row; empty when it has none (no settings: running, no limits). */
  public Optional<QueueSettings> get(String name) {
    return call(
        handle ->
            handle.createQuery(LIST).bind("name", name).map((rs, ctx) -> settings(rs)).findOne());
  }

  /** The settings of these queues, one per name (a queue without a row: unset). */
  public List<QueueSettings> settingsOf(List<String> names) {
    List<QueueSettings> rows = list();
    return names.stream()
        .map(
            name ->
                rows.stream()
                    .filter(row -> row.name().equals(name))
                    .findFirst()
                    .orElse(QueueSettings.unset(name)))
        .toList();
  }

  /** Pauses; true when it was not paused before. */
  public boolean pause(String name) {
    return booleanCall(PAUSE, name);
  }

  /** Resumes; true when it was paused, false when it was not (or has no settings). */
  public boolean resume(String name) {
    return booleanCall(RESUME, name);
  }

  /** Sets every limit at once (a null component clears that limit). */
  public void setLimits(String name, QueueLimits limits) {
    call(
        handle ->
            handle
                .createQuery(SET_LIMITS)
                .bind("name", name)
                .bind("global_concurrency", limits.globalConcurrency())
                .bind("rate_limit", limits.rateLimit())
                .bind(
                    "rate_period_ms",
                    limits.ratePeriod() == null ? null : (Long) limits.ratePeriod().toMillis())
                .bind("key_concurrency", limits.keyConcurrency())
                .mapTo(Boolean.class)
                .one());
  }

  /**
   * Puts a failed or cancelled job back to pending with a fresh attempt budget.
   *
   * @return the status after the call; empty when there is no such job (of the caller's)
   */
  public Optional<JobStatus> retry(UUID id) {
    return call(
        handle ->
            handle
                .createQuery(RETRY)
                .bind("id", id)
                .map((rs, ctx) -> rs.getString("status"))
                .findOne()
                .flatMap(Optional::ofNullable)
                .map(JobStatus::parse));
  }

  /** Runs the bulk action; the count of jobs it touched. */
  public long bulk(BulkAction action, JobFilter filter) {
    return bulk(action, filter, Long.MAX_VALUE).touched();
  }

  /**
   * Runs the bulk action in a transaction, and rolls it back when it touched more than {@code
   * rollbackAbove} jobs (the CLI asks for {@code --yes} then): the count is exact either way, and a
   * rolled-back cancel sends no notification.
   */
  public BulkResult bulk(BulkAction action, JobFilter filter, long rollbackAbove) {
    if (filter.everyJob() && !action.takesEveryJob) {
      // retry_jobs takes an empty filter as "every failed and cancelled job" already.
      filter = JobFilter.builder().build();
    }
    JobFilter checked = filter;
    return call(
        handle ->
            handle.inTransaction(
                transaction -> {
                  long touched = bulkOn(transaction, action, checked);
                  if (touched > rollbackAbove) {
                    transaction.rollback();
                    return new BulkResult(touched, false);
                  }
                  return new BulkResult(touched, true);
                }));
  }

  private static long bulkOn(Handle handle, BulkAction action, JobFilter filter) {
    return handle
        .createQuery(BULK)
        .define("action", action.function)
        .define("every", action.takesEveryJob ? ", every_job => CAST(:every_job AS boolean)" : "")
        .bind("queue", filter.queue())
        .bind("plugin", filter.plugin())
        .bind("status", filter.status() == null ? null : filter.status().dbValue())
        .bind(
            "finished_since_ms",
            filter.finishedSince() == null ? null : (Long) filter.finishedSince().toEpochMilli())
        .bind("every_job", filter.everyJob())
        .mapTo(Long.class)
        .one();
  }

  private boolean booleanCall(String sql, String name) {
    return call(handle -> handle.createQuery(sql).bind("name", name).mapTo(Boolean.class).one());
  }

  private static QueueSettings settings(ResultSet rs) throws SQLException {
    long periodMs = rs.getLong("rate_period_ms");
    Duration period = rs.wasNull() ? null : Duration.ofMillis(periodMs);
    // Read as stored, not validated again: the table's CHECKs hold the same rules.
    QueueLimits limits =
        new QueueLimits(
            (Integer) rs.getObject("global_concurrency"),
            (Integer) rs.getObject("rate_limit"),
            period,
            (Integer) rs.getObject("key_concurrency"));
    return new QueueSettings(
        rs.getString("name"),
        rs.getBoolean("paused"),
        instant(rs, "paused_at"),
        limits,
        instant(rs, "updated_at"));
  }

  private static Instant instant(ResultSet rs, String column) throws SQLException {
    OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }

  private <T> T call(HandleCallback<T, RuntimeException> callback) {
    try {
      return jdbi.withHandle(callback);
    } catch (JdbiException e) {
      RuntimeException invalid = invalidArgument(e);
      if (invalid != null) {
        throw invalid;
      }
      throw Repositories.translate(e);
    }
  }

  /**
   * An argument the SQL functions refused ("argument: message", SQLSTATE 22023): a queue setting,
   * or a bulk filter; null for any other failure.
   */
  private static RuntimeException invalidArgument(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof PSQLException sql && INVALID_PARAMETER_VALUE.equals(sql.getSQLState())) {
        ServerErrorMessage server = sql.getServerErrorMessage();
        String message = String.valueOf(server == null ? sql.getMessage() : server.getMessage());
        int colon = message.indexOf(": ");
        String field = colon > 0 ? message.substring(0, colon) : "queue";
        if (field.endsWith("_jobs") || field.equals("status")) {
          return new InvalidJobException(message, e);
        }
        return colon > 0
            ? new InvalidQueueException(field, message.substring(colon + 2), e)
            : new InvalidQueueException(field, message, e);
      }
    }
    return null;
  }
}
