package io.taskbroker.common.sql;

import io.taskbroker.common.Database;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import javax.sql.DataSource;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.postgresql.PGStatement;

/**
 * The worker's statements: claim, complete, heartbeat, rescue, hand back, and the worker row. Every
 * write to a running job is fenced on {@code status = 'running'}, the worker id and the attempt.
 * Each method is one statement in its own transaction. Thread-safe.
 *
 * <p>Not a user API: the worker runtime uses it.
 */
public final class WorkerRepository {
  private static final NamedSql CLAIM_JOBS = NamedSql.load("claim_jobs");
  private static final NamedSql CLAIM_LIMITED = NamedSql.load("claim_limited");
  private static final String RUNNABLE_WAITING = Sql.load("runnable_waiting");
  private static final NamedSql COMPLETE_JOBS = NamedSql.load("complete_jobs");
  private static final NamedSql HEARTBEAT_JOBS = NamedSql.load("heartbeat_jobs");
  private static final String RESCUE_JOBS = Sql.load("rescue_jobs");
  private static final String HAND_BACK_JOBS = Sql.load("hand_back_jobs");
  private static final String ABANDON_JOBS = Sql.load("abandon_jobs");
  private static final String REGISTER_WORKER = Sql.load("register_worker");
  private static final String TOUCH_WORKER = Sql.load("touch_worker");
  private static final String DEREGISTER_WORKER = Sql.load("deregister_worker");
  private static final String REAP_WORKERS = Sql.load("reap_workers");
  private static final String NEXT_RUN_AT = Sql.load("next_run_at");
  private static final String CONFIRM_CANCELS = Sql.load("confirm_cancels");

  private final Jdbi jdbi;
  private final DataSource dataSource;

  public WorkerRepository(Database database) {
    this.jdbi = database.jdbi();
    this.dataSource = database.dataSource();
  }

  /**
   * Claims up to {@code limit} runnable jobs of {@code queue} for this worker.
   *
   * @param plugins the plugins this worker has; null means any plugin
   * @return the claimed jobs, in claim order (priority, run_at)
   */
  public List<Job> claim(
      String workerId, String queue, Collection<String> plugins, int limit, Duration lease) {
    return claim(workerId, queue, plugins, limit, lease, null);
  }

  /**
   * Claims like {@link #claim(String, String, Collection, int, Duration)}, but only among jobs
   * whose key (priority, run_at, id) comes after {@code after}'s, as it was when {@code after} was
   * claimed: the scan starts there instead of at the head of the claim index. A job that sits
   * before that key is not claimed, so the caller must look from the head (with {@code after} null)
   * whenever such a job may exist, and whenever this claim comes back short.
   *
   * @param after the last job of the caller's previous claim, or null to look from the head
   */
  public List<Job> claim(
      String workerId,
      String queue,
      Collection<String> plugins,
      int limit,
      Duration lease,
      Job after) {
    List<Job> jobs =
        Repositories.withConnection(
            dataSource,
            connection -> {
              try (NamedSql.Binder claim = CLAIM_JOBS.prepare(connection)) {
                // Planned anew on every run. pgjdbc server-prepares a statement after five uses,
                // and PostgreSQL may then keep a generic plan chosen while the queue was small:
                // with a backlog of 300,000 jobs such a plan (sequential scan, sort spilling to
                // disk) took 298 ms per claim against 3.4 ms for a custom plan, whose planning
                // costs about 0.4 ms.
                claim.statement().unwrap(PGStatement.class).setPrepareThreshold(0);
                claim
                    .text("queue", queue)
                    .bool("any_plugin", plugins == null)
                    .array("plugins", "text", plugins == null ? new String[0] : plugins.toArray())
                    .int4("limit", limit)
                    .text("worker_id", workerId)
                    .int8("lease_ms", lease.toMillis())
                    .bool("resume", after != null)
                    .int4("after_priority", after == null ? 0 : after.priority())
                    // As text: exact to the microsecond the column holds, whatever the driver
                    // would make of an Instant.
                    .text("after_run_at", after == null ? null : after.runAt().toString())
                    .text("after_id", after == null ? null : after.id().toString());
                List<Job> claimed = new ArrayList<>(limit);
                try (ResultSet rs = claim.statement().executeQuery()) {
                  JobRowMapper rows = JobRowMapper.of(rs);
                  while (rs.next()) {
                    claimed.add(rows.map(rs, null));
                  }
                }
                return claimed;
              }
            });
    jobs.sort(
        Comparator.comparingInt(Job::priority).thenComparing(Job::runAt).thenComparing(Job::id));
    return jobs;
  }

  /**
   * Claims like {@link #claim}, for a queue with limits: through {@code taskbroker.claim_limited},
   * which serialises the claims of the queue and claims at most what its limits leave (possibly
   * none while runnable jobs wait; see {@link #runnableWaiting}).
   */
  public List<Job> claimLimited(
      String workerId, String queue, Collection<String> plugins, int limit, Duration lease) {
    List<Job> jobs =
        Repositories.withConnection(
            dataSource,
            connection -> {
              try (NamedSql.Binder claim = CLAIM_LIMITED.prepare(connection)) {
                claim
                    .text("queue", queue)
                    .text("worker_id", workerId)
                    .bool("any_plugin", plugins == null)
                    .array("plugins", "text", plugins == null ? new String[0] : plugins.toArray())
                    .int4("limit", limit)
                    .int8("lease_ms", lease.toMillis());
                List<Job> claimed = new ArrayList<>(limit);
                try (ResultSet rs = claim.statement().executeQuery()) {
                  JobRowMapper rows = JobRowMapper.of(rs);
                  while (rs.next()) {
                    claimed.add(rows.map(rs, null));
                  }
                }
                return claimed;
              }
            });
    jobs.sort(
        Comparator.comparingInt(Job::priority).thenComparing(Job::runAt).thenComparing(Job::id));
    return jobs;
  }

  /** Whether a runnable job of this queue waits now (a limit may be holding it back). */
  public boolean runnableWaiting(String queue) {
    return call(
        handle ->
            handle.createQuery(RUNNABLE_WAITING).bind("queue", queue).mapTo(Boolean.class).one());
  }

  /**
   * Writes outcomes, fenced on this worker's claim of each job.
   *
   * @return the status each accepted job ended in; a job missing from the map was rejected (no
   *     longer running under this worker at that attempt)
   */
  public Map<UUID, JobStatus> complete(String workerId, List<OutcomeWrite> outcomes) {
    if (outcomes.isEmpty()) {
      return Map.of();
    }
    int size = outcomes.size();
    List<UUID> ids = new ArrayList<>(size);
    List<Integer> attempts = new ArrayList<>(size);
    List<String> statuses = new ArrayList<>(size);
    List<String> results = new ArrayList<>(size);
    List<String> errors = new ArrayList<>(size);
    List<String> entries = new ArrayList<>(size);
    List<Long> runAts = new ArrayList<>(size);
    List<Long> delays = new ArrayList<>(size);
    List<Boolean> refunds = new ArrayList<>(size);
    for (OutcomeWrite outcome : outcomes) {
      ids.add(outcome.jobId());
      attempts.add(outcome.attempt());
      statuses.add(outcome.status().dbValue());
      results.add(outcome.result() == null ? null : Json.write(outcome.result()));
      errors.add(outcome.error());
      entries.add(outcome.errorEntry() == null ? null : Json.write(outcome.errorEntry()));
      Instant runAt = outcome.runAt();
      runAts.add(runAt == null ? null : runAt.toEpochMilli());
      delays.add(outcome.delay() == null ? null : outcome.delay().toMillis());
      refunds.add(outcome.refundAttempt());
    }
    return Repositories.withConnection(
        dataSource,
        connection -> {
          try (NamedSql.Binder complete = COMPLETE_JOBS.prepare(connection)) {
            complete
                .text("worker_id", workerId)
                .array("ids", "uuid", ids.toArray())
                .array("attempts", "int4", attempts.toArray())
                .array("statuses", "text", statuses.toArray())
                .array("results", "text", results.toArray())
                .array("errors", "text", errors.toArray())
                .array("error_entries", "text", entries.toArray())
                .array("run_at_ms", "int8", runAts.toArray())
                .array("delay_ms", "int8", delays.toArray())
                .array("refunds", "bool", refunds.toArray());
            Map<UUID, JobStatus> accepted = new HashMap<>();
            try (ResultSet rs = complete.statement().executeQuery()) {
              // RETURNING j.id, j.status
              while (rs.next()) {
                accepted.put(rs.getObject(1, UUID.class), JobStatus.parse(rs.getString(2)));
              }
            }
            return accepted;
          }
        });
  }

  /**
   * Extends the lease of the jobs this worker holds and stores their latest progress.
   *
   * @return for each job still held, whether a cancel was requested; a job missing from the map is
   *     no longer this worker's
   */
  public Map<UUID, Boolean> heartbeat(
      String workerId, List<HeartbeatEntry> entries, Duration lease) {
    if (entries.isEmpty()) {
      return Map.of();
    }
    int size = entries.size();
    List<UUID> ids = new ArrayList<>(size);
    List<Integer> attempts = new ArrayList<>(size);
    List<Float> progress = new ArrayList<>(size);
    List<String> messages = new ArrayList<>(size);
    for (HeartbeatEntry entry : entries) {
      ids.add(entry.claim().jobId());
      attempts.add(entry.claim().attempt());
      progress.add(entry.progress());
      messages.add(entry.progressMessage());
    }
    return Repositories.withConnection(
        dataSource,
        connection -> {
          try (NamedSql.Binder heartbeat = HEARTBEAT_JOBS.prepare(connection)) {
            heartbeat
                .text("worker_id", workerId)
                .int8("lease_ms", lease.toMillis())
                .array("ids", "uuid", ids.toArray())
                .array("attempts", "int4", attempts.toArray())
                .array("progress", "float4", progress.toArray())
                .array("progress_messages", "text", messages.toArray());
            Map<UUID, Boolean> held = new HashMap<>();
            try (ResultSet rs = heartbeat.statement().executeQuery()) {
              while (rs.next()) {
                held.put(rs.getObject("id", UUID.class), rs.getBoolean("cancel_requested"));
              }
            }
            return held;
          }
        });
  }

  /** Takes back up to {@code limit} jobs whose lease expired. Safe to run from many workers. */
  public List<RescuedJob> rescue(int limit) {
    return call(
        handle ->
            handle
                .createQuery(RESCUE_JOBS)
                .bind("limit", limit)
                .map(
                    (rs, ctx) ->
                        new RescuedJob(
                            rs.getObject("id", UUID.class),
                            JobStatus.parse(rs.getString("status")),
                            rs.getInt("attempt")))
                .list());
  }

  /** Returns every job still running under this worker to pending, without spending an attempt. */
  public List<UUID> handBack(String workerId) {
    return call(
        handle ->
            handle
                .createQuery(HAND_BACK_JOBS)
                .bind("worker_id", workerId)
                .map((rs, ctx) -> rs.getObject("id", UUID.class))
                .list());
  }

  /**
   * Takes every job still running under this worker away from it with the attempt spent (the
   * process is dying without a stop request): pending again, failed when attempts are used up, or
   * cancelled; each gets a {@code worker_exit} entry saying {@code reason}.
   */
  public List<RescuedJob> abandon(String workerId, String reason) {
    return call(
        handle ->
            handle
                .createQuery(ABANDON_JOBS)
                .bind("worker_id", workerId)
                .bind("reason", reason)
                .map(
                    (rs, ctx) ->
                        new RescuedJob(
                            rs.getObject("id", UUID.class),
                            JobStatus.parse(rs.getString("status")),
                            rs.getInt("attempt")))
                .list());
  }

  public void register(WorkerRegistration worker) {
    call(
        handle ->
            handle
                .createUpdate(REGISTER_WORKER)
                .bind("id", worker.id())
                .bind("host", worker.host())
                .bind("pid", worker.pid())
                .bind("queues", Json.write(worker.queues()))
                .bindArray("plugins", String.class, worker.plugins())
                .bind("concurrency", worker.concurrency())
                .execute());
  }

  /**
   * Refreshes the worker's heartbeat and the health of its units; false when its row is gone
   * (reaped) and must be redone.
   *
   * @param status {@code healthy}, {@code unhealthy} or {@code failed}
   * @param unitsJson a JSON object: unit name to its health
   */
  public boolean touch(String workerId, String status, String unitsJson) {
    return call(
            handle ->
                handle
                    .createUpdate(TOUCH_WORKER)
                    .bind("id", workerId)
                    .bind("status", status)
                    .bind("units", unitsJson)
                    .execute())
        == 1;
  }

  public void deregister(String workerId) {
    call(handle -> handle.createUpdate(DEREGISTER_WORKER).bind("id", workerId).execute());
  }

  /** Deletes the rows of workers silent for longer than {@code stale}; returns their ids. */
  public Set<String> reapWorkers(Duration stale) {
    return call(
        handle ->
            Set.copyOf(
                handle
                    .createQuery(REAP_WORKERS)
                    .bind("stale_ms", stale.toMillis())
                    .mapTo(String.class)
                    .list()));
  }

  /** Whether the server runs autovacuum (a superuser can turn it off for the whole cluster). */
  public boolean autovacuumOn() {
    return call(
        handle ->
            handle
                .createQuery("SELECT current_setting('autovacuum')::boolean")
                .mapTo(Boolean.class)
                .one());
  }

  /** When the next scheduled (future) job of this queue becomes runnable, if any. */
  public Optional<Instant> nextRunAt(String queue) {
    return call(
        handle ->
            handle
                .createQuery(NEXT_RUN_AT)
                .bind("queue", queue)
                .map((rs, ctx) -> JobRowMapper.instant(rs, "next_run_at"))
                .findOne());
  }

  /**
   * Of these job ids, those still running under this worker whose cancel was requested in the
   * table: a control notification names a job, the table says whether to act.
   */
  public Set<UUID> confirmCancels(String workerId, Collection<UUID> ids) {
    if (ids.isEmpty()) {
      return Set.of();
    }
    return call(
        handle ->
            Set.copyOf(
                handle
                    .createQuery(CONFIRM_CANCELS)
                    .bindArray("ids", UUID.class, List.copyOf(ids))
                    .bind("worker_id", workerId)
                    .map((rs, ctx) -> rs.getObject("id", UUID.class))
                    .list()));
  }

  private <T> T call(HandleCallback<T, RuntimeException> callback) {
    try {
      return jdbi.withHandle(callback);
    } catch (JdbiException e) {
      throw Repositories.translate(e);
    }
  }
}
