package io.taskbroker.common.sql;

import io.taskbroker.common.Database;
import io.taskbroker.common.DatabaseException;
import io.taskbroker.common.DuplicateJobException;
import io.taskbroker.common.InvalidJobException;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobQuery;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.common.NewJob;
import io.taskbroker.common.QueueStats;
import io.taskbroker.common.SqlStates;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import javax.sql.DataSource;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;

/**
 * The client's statements on the jobs (job_queue, job_history and the {@code taskbroker.jobs} view
 * over both): insert, read, cancel, prune, move to the history. Every method either takes the
 * caller's {@link Handle} (to run in the caller's transaction) or opens its own. Stateless apart
 * from the Jdbi; thread-safe.
 *
 * <p>Not a user API: the client in {@code taskbroker-api} wraps it.
 */
public final class JobRepository {
  private static final NamedSql INSERT_JOBS = NamedSql.load("insert_jobs");
  private static final String GET_JOB = Sql.load("get_job");
  private static final String GET_JOBS = Sql.load("get_jobs");
  private static final String LIST_JOBS = Sql.load("list_jobs");

  /** The listing without the columns that may run to megabytes (JobQuery#bodies). */
  private static final String LIST_JOBS_WITHOUT_BODIES =
      withColumns(
          LIST_JOBS,
          "id, queue, plugin, status, priority, run_at, attempt, max_attempts, timeout_ms,"
              + " created_at, started_at, completed_at, worker_id, heartbeat_at,"
              + " lease_expires_at, progress, progress_message, unique_key, cancel_requested_at,"
              + " concurrency_key");

  private static final String JOB_STATUSES = Sql.load("job_statuses");
  private static final String CANCEL_JOB = Sql.load("cancel_job");
  private static final String PRUNE_JOBS = Sql.load("prune_jobs");
  private static final String PRUNE_HISTORY = Sql.load("prune_history");
  private static final String MOVE_TO_HISTORY = Sql.load("move_to_history");
  private static final String DROP_HISTORY = Sql.load("drop_history");
  private static final String QUEUE_STATS = Sql.load("queue_stats");

  private static final int PRUNE_BATCH = 5_000;

  private final Jdbi jdbi;
  private final DataSource dataSource;

  public JobRepository(Database database) {
    this.jdbi = database.jdbi();
    this.dataSource = database.dataSource();
  }

  public Jdbi jdbi() {
    return jdbi;
  }

  /** Inserts the jobs in one statement, in a transaction of its own. Returns their ids. */
  public List<UUID> insert(List<NewJob> jobs) {
    if (jobs.isEmpty()) {
      return List.of();
    }
    return Repositories.withConnection(dataSource, connection -> insertOn(connection, jobs));
  }

  /** As {@link #insert(Connection, List)}, on the caller's Jdbi handle. */
  public List<UUID> insert(Handle handle, List<NewJob> jobs) {
    return insert(handle.getConnection(), jobs);
  }

  /**
   * Inserts the jobs in one statement on the caller's connection: they exist iff the caller's
   * transaction commits (at once, when the connection is in auto-commit mode).
   *
   * @throws DuplicateJobException when a unique key is held by a pending or running job
   * @throws InvalidJobException when the database refuses a value
   * @throws DatabaseException when the statement fails for another reason
   */
  public List<UUID> insert(Connection connection, List<NewJob> jobs) {
    try {
      return insertOn(connection, jobs);
    } catch (SQLException e) {
      throw Repositories.translate(e);
    }
  }

  private List<UUID> insertOn(Connection connection, List<NewJob> jobs) throws SQLException {
    if (jobs.isEmpty()) {
      return List.of();
    }
    int size = jobs.size();
    UUID[] ids = new UUID[size];
    String[] queues = new String[size];
    String[] plugins = new String[size];
    String[] payloads = new String[size];
    String[] metadata = new String[size];
    Short[] priorities = new Short[size];
    Long[] runAts = new Long[size];
    Long[] delays = new Long[size];
    Integer[] maxAttempts = new Integer[size];
    String[] uniqueKeys = new String[size];
    Integer[] timeouts = new Integer[size];
    String[] concurrencyKeys = new String[size];
    for (int i = 0; i < size; i++) {
      NewJob job = jobs.get(i);
      ids[i] = JobIds.next();
      queues[i] = job.queue();
      plugins[i] = job.plugin();
      // Checked here, where every Java submit passes, not only in NewJob.build(): a caller may
      // build the record directly or change its nodes after building it.
      String which = size == 1 ? "" : "job " + (i + 1) + " of " + size + ": ";
      payloads[i] = Json.writeStorable(job.payload(), which + "payload");
      metadata[i] = Json.writeStorable(job.metadata(), which + "metadata");
      priorities[i] = (short) job.priority();
      runAts[i] = job.runAt() == null ? null : job.runAt().toEpochMilli();
      delays[i] = job.delay() == null ? null : job.delay().toMillis();
      maxAttempts[i] = job.maxAttempts();
      uniqueKeys[i] = job.uniqueKey();
      timeouts[i] = job.timeout() == null ? null : (int) job.timeout().toMillis();
      concurrencyKeys[i] = job.concurrencyKey();
    }
    int inserted;
    try (NamedSql.Binder insert = INSERT_JOBS.prepare(connection)) {
      inserted =
          insert
              .array("ids", "uuid", ids)
              .array("queues", "text", queues)
              .array("plugins", "text", plugins)
              .array("payloads", "text", payloads)
              .array("metadata", "text", metadata)
              .array("priorities", "int2", priorities)
              .array("run_at_ms", "int8", runAts)
              .array("delay_ms", "int8", delays)
              .array("max_attempts", "int4", maxAttempts)
              .array("unique_keys", "text", uniqueKeys)
              .array("timeouts_ms", "int4", timeouts)
              .array("concurrency_keys", "text", concurrencyKeys)
              .statement()
              .executeUpdate();
    } catch (SQLException e) {
      RuntimeException refused = translateInsertError(e, jobs);
      if (refused != null) {
        throw refused;
      }
      throw e;
    }
    if (inserted != size) {
      throw new IllegalStateException(
          "Expected to insert " + size + " jobs but inserted " + inserted + "; this is a bug");
    }
    return List.of(ids);
  }

  public Optional<Job> get(UUID id) {
    return call(handle -> get(handle, id));
  }

  public Optional<Job> get(Handle handle, UUID id) {
    return handle.createQuery(GET_JOB).bind("id", id).map(JobRowMapper.INSTANCE).findOne();
  }

  /** The jobs with these ids that exist, in one statement (in no particular order). */
  public List<Job> getAll(Collection<UUID> ids) {
    if (ids.isEmpty()) {
      return List.of();
    }
    return call(
        handle ->
            handle
                .createQuery(GET_JOBS)
                .bindArray("ids", UUID.class, List.copyOf(ids))
                .map(JobRowMapper.INSTANCE)
                .list());
  }

  public List<Job> list(JobQuery query) {
    List<String> statuses = query.statuses().stream().map(JobStatus::dbValue).toList();
    return call(
        handle ->
            handle
                .createQuery(query.bodies() ? LIST_JOBS : LIST_JOBS_WITHOUT_BODIES)
                .bindArray("statuses", String.class, statuses)
                .bind("queue", query.queue())
                .bind("plugin", query.plugin())
                .bind("after_id", query.afterId())
                .bind("limit", query.limit())
                .bind("offset", query.offset())
                .map(JobRowMapper.INSTANCE)
                .list());
  }

  /** The current status of each of these jobs that exists. */
  public Map<UUID, JobStatus> statuses(Collection<UUID> ids) {
    if (ids.isEmpty()) {
      return Map.of();
    }
    return call(
        handle -> {
          Map<UUID, JobStatus> result = new LinkedHashMap<>();
          handle
              .createQuery(JOB_STATUSES)
              .bindArray("ids", UUID.class, List.copyOf(ids))
              .map(
                  (rs, ctx) ->
                      Map.entry(
                          rs.getObject("id", UUID.class), JobStatus.parse(rs.getString("status"))))
              .forEach(entry -> result.put(entry.getKey(), entry.getValue()));
          return result;
        });
  }

  /**
   * Cancels a job: a pending one at once, a running one by request to its worker.
   *
   * @return the status after the call; empty when no such job exists
   */
  public Optional<JobStatus> cancel(UUID id) {
    return call(
        handle ->
            handle
                .createQuery(CANCEL_JOB)
                .bind("id", id)
                .map((rs, ctx) -> rs.getString("status"))
                .findOne()
                .map(JobStatus::parse));
  }

  /**
   * Deletes finished jobs (of the given final statuses) that finished more than {@code olderThan}
   * ago, from job_queue and from the history, in batches so no statement holds locks for long.
   *
   * @return how many jobs were deleted
   */
  public long prune(Duration olderThan, Set<JobStatus> statuses) {
    return prune(olderThan, statuses, null);
  }

  /**
   * Like {@link #prune(Duration, Set)}, limited to one queue.
   *
   * @param queue the queue to prune, or null for every queue
   */
  public long prune(Duration olderThan, Set<JobStatus> statuses, String queue) {
    long total = 0;
    for (String sql : List.of(PRUNE_JOBS, PRUNE_HISTORY)) {
      while (true) {
        int deleted = pruneBatch(sql, olderThan, statuses, queue, PRUNE_BATCH);
        total += deleted;
        if (deleted < PRUNE_BATCH) {
          break;
        }
      }
    }
    return total;
  }

  /**
   * One batch of {@link #prune(Duration, Set, String)} in job_queue (where finished jobs wait for
   * the history mover): deletes at most {@code limit} such jobs, skipping rows another statement
   * holds. Fewer than {@code limit} deleted means none were left (apart from held ones).
   *
   * @param queue the queue to prune, or null for every queue
   * @return how many jobs were deleted
   */
  public int pruneBatch(Duration olderThan, Set<JobStatus> statuses, String queue, int limit) {
    return pruneBatch(PRUNE_JOBS, olderThan, statuses, queue, limit);
  }

  private int pruneBatch(
      String sql, Duration olderThan, Set<JobStatus> statuses, String queue, int limit) {
    for (JobStatus status : statuses) {
      if (!status.isFinal()) {
        throw new InvalidJobException(
            "only finished jobs can be pruned; " + status.dbValue() + " is not final");
      }
    }
    if (olderThan.isNegative()) {
      throw new InvalidJobException("prune age must not be negative, got " + olderThan);
    }
    if (limit < 1) {
      throw new InvalidJobException("prune batch must be at least 1, got " + limit);
    }
    List<String> names = statuses.stream().map(JobStatus::dbValue).toList();
    return call(
        handle ->
            handle
                .createUpdate(sql)
                .bind("older_than_ms", olderThan.toMillis())
                .bindArray("statuses", String.class, names)
                .bind("queue", queue)
                .bind("batch_size", limit)
                .execute());
  }

  /**
   * One batch of the history mover: at most {@code limit} jobs that finished more than {@code
   * finishedBefore} ago leave job_queue for the history, oldest first, in one statement (a job is
   * in exactly one of the two at every instant). Rows another statement holds are skipped.
   *
   * @return how many moved
   */
  public int moveToHistory(Duration finishedBefore, int limit) {
    return call(
        handle ->
            handle
                .createQuery(MOVE_TO_HISTORY)
                .bind("after_ms", finishedBefore.toMillis())
                .bind("limit", limit)
                .mapTo(Integer.class)
                .one());
  }

  /**
   * Drops the history's daily partitions that end more than {@code olderThan} ago: retention
   * without DELETE, exact to a day.
   *
   * @return how many partitions were dropped
   */
  public int dropHistoryOlderThan(Duration olderThan) {
    return call(
        handle ->
            handle
                .createQuery(DROP_HISTORY)
                .bind("older_than_ms", olderThan.toMillis())
                .mapTo(Integer.class)
                .one());
  }

  /** The batch {@link #prune(Duration, Set, String)} deletes per statement. */
  public static int pruneBatchSize() {
    return PRUNE_BATCH;
  }

  public List<QueueStats> queueStats() {
    return call(
        handle ->
            handle
                .createQuery(QUEUE_STATS)
                .map(
                    (rs, ctx) -> {
                      long oldest = rs.getLong("oldest_pending_ms");
                      Duration age = rs.wasNull() ? null : Duration.ofMillis(oldest);
                      return new QueueStats(
                          rs.getString("queue"),
                          rs.getLong("pending"),
                          rs.getLong("scheduled"),
                          rs.getLong("running"),
                          rs.getLong("completed"),
                          rs.getLong("failed"),
                          rs.getLong("cancelled"),
                          age);
                    })
                .list());
  }

  private <T> T call(HandleCallback<T, RuntimeException> callback) {
    try {
      return jdbi.withHandle(callback);
    } catch (JdbiException e) {
      throw Repositories.translate(e);
    }
  }

  /** Our exception for a value the database refused, or null for any other failure. */
  private static RuntimeException translateInsertError(SQLException e, List<NewJob> jobs) {
    String state = SqlStates.of(e);
    if (SqlStates.UNIQUE_VIOLATION.equals(state)) {
      String key = jobs.size() == 1 ? jobs.get(0).uniqueKey() : uniqueKeyFrom(e);
      return new DuplicateJobException(key, e);
    }
    if (state != null && (state.startsWith("22") || state.startsWith("23"))) {
      return new InvalidJobException("the database refused the job: " + message(e), e);
    }
    return null;
  }

  private static String uniqueKeyFrom(SQLException e) {
    String text = message(e);
    int start = text.indexOf("(unique_key)=(");
    if (start < 0) {
      return "?";
    }
    int end = text.indexOf(')', start + 14);
    return end < 0 ? "?" : text.substring(start + 14, end);
  }

  static String message(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException sql) {
        return sql.getMessage();
      }
    }
    return e.getMessage();
  }

  /** The statement with its {@code /*columns*\/ *} select list replaced; fails loudly without. */
  private static String withColumns(String sql, String columns) {
    String marker = "/*columns*/ *";
    if (!sql.contains(marker)) {
      throw new IllegalStateException("list_jobs.sql lost its " + marker + " select list");
    }
    return sql.replace(marker, columns);
  }
}
