package io.taskbroker.api;

import io.taskbroker.api.internal.JobAwaiter;
import io.taskbroker.api.internal.PgNotifier;
import io.taskbroker.api.internal.SubmitListeners;
import io.taskbroker.api.internal.TraceContexts;
import io.taskbroker.api.plugin.JobType;
import io.taskbroker.api.spi.AmbientTransaction;
import io.taskbroker.api.spi.LocalWakeups;
import io.taskbroker.common.Database;
import io.taskbroker.common.DatabaseConfig;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobNotFoundException;
import io.taskbroker.common.JobQuery;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.common.Migrations;
import io.taskbroker.common.NewJob;
import io.taskbroker.common.QueueStats;
import io.taskbroker.common.sql.JobRepository;
import io.taskbroker.common.sql.ScheduleRepository;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.jdbi.v3.core.Handle;

/**
 * What a program uses to submit, inspect, await, cancel and prune jobs. Thread-safe; share one per
 * process. {@link #close()} releases the pool when the client opened it, and ends the subscription
 * {@link #await(UUID)} takes on first use to its Database's LISTEN connection (one per Database,
 * shared with the trackers and workers on it).
 */
public final class TaskBrokerClient implements AutoCloseable {
  private final Database database;
  private final boolean ownsDatabase;
  private final ClientConfig config;
  private final JobRepository jobs;
  private final LocalWakeups wakeups;
  private final AmbientTransaction ambient;
  private final SubmitListeners submitListeners;
  private final Object awaiterLock = new Object();
  private JobAwaiter awaiter;

  private TaskBrokerClient(Database database, boolean ownsDatabase, ClientConfig config) {
    this(database, ownsDatabase, config, AmbientTransaction.NONE);
  }

  private TaskBrokerClient(
      Database database, boolean ownsDatabase, ClientConfig config, AmbientTransaction ambient) {
    this.ambient = java.util.Objects.requireNonNull(ambient, "ambient");
    this.database = database;
    this.ownsDatabase = ownsDatabase;
    this.config = config;
    this.jobs = new JobRepository(database);
    this.wakeups = LocalWakeups.of(database);
    this.submitListeners = new SubmitListeners(config.listeners());
    if (config.migrate()) {
      Migrations.migrate(database.dataSource());
    }
  }

  /** Opens a pool to the database, migrates the schema, and returns a client owning the pool. */
  public static TaskBrokerClient connect(DatabaseConfig databaseConfig) {
    return connect(databaseConfig, ClientConfig.defaults());
  }

  public static TaskBrokerClient connect(DatabaseConfig databaseConfig, ClientConfig config) {
    Database database = Database.connect(databaseConfig);
    try {
      return new TaskBrokerClient(database, true, config);
    } catch (RuntimeException e) {
      database.close();
      throw e;
    }
  }

  /** A client on a pool the caller owns (and closes). */
  public static TaskBrokerClient create(Database database, ClientConfig config) {
    return new TaskBrokerClient(database, false, config);
  }

  /**
   * A client on a pool the caller owns whose submits without a {@code Connection} join the caller's
   * current transaction when there is one (see {@link AmbientTransaction}).
   */
  public static TaskBrokerClient create(
      Database database, ClientConfig config, AmbientTransaction ambient) {
    return new TaskBrokerClient(database, false, config, ambient);
  }

  public Database database() {
    return database;
  }

  // ---- submit ----

  /**
   * Submits one job in its own transaction; returns its id once committed. (With an {@link
   * AmbientTransaction}, inside the caller's current transaction when there is one.)
   */
  public UUID submit(NewJob job) {
    return submitAll(List.of(job)).get(0);
  }

  /** Submits a job for {@code plugin} with this payload and every default. */
  public UUID submit(String plugin, Map<String, ?> payload) {
    return submit(NewJob.of(plugin, payload));
  }

  /**
   * Submits a job for {@code plugin} whose payload is this record, as JSON (see {@link
   * io.taskbroker.api.plugin.TypedTaskPlugin} for how a plugin reads it back).
   */
  public UUID submit(String plugin, Record payload) {
    return submit(NewJob.builder(plugin).payload(Json.toTree(payload)).build());
  }

  /** Submits a job of this type with every default; {@link #await(UUID, JobType)} its result. */
  public <P extends Record> UUID submit(JobType<P, ?> type, P payload) {
    return submit(type.plugin(), payload);
  }

  /** Submits many jobs in one statement and one transaction (one NOTIFY per queue). */
  public List<UUID> submitAll(List<NewJob> batch) {
    List<NewJob> traced = TraceContexts.withCurrentContext(batch);
    Optional<List<UUID>> joined = ambient.inCurrent(connection -> submitAll(connection, traced));
    if (joined.isPresent()) {
      return joined.get();
    }
    List<UUID> ids = jobs.insert(traced);
    committed(traced);
    submitListeners.submitted(traced, ids);
    return ids;
  }

  /**
   * Submits inside the caller's transaction on this JDBC connection: the job exists iff the caller
   * commits. The connection is neither committed nor closed here.
   */
  public UUID submit(Connection connection, NewJob job) {
    return submitAll(connection, List.of(job)).get(0);
  }

  public List<UUID> submitAll(Connection connection, List<NewJob> batch) {
    batch = TraceContexts.withCurrentContext(batch);
    List<UUID> ids = jobs.insert(connection, batch);
    boolean autoCommit;
    try {
      autoCommit = connection.getAutoCommit();
    } catch (SQLException e) {
      autoCommit = false;
    }
    // In the caller's transaction the NOTIFY, sent at its commit, is the only wake-up.
    if (autoCommit) {
      committed(batch);
    }
    submitListeners.submitted(batch, ids);
    return ids;
  }

  /** Submits inside the caller's Jdbi transaction. */
  public UUID submit(Handle handle, NewJob job) {
    return submitAll(handle, List.of(job)).get(0);
  }

  public List<UUID> submitAll(Handle handle, List<NewJob> batch) {
    batch = TraceContexts.withCurrentContext(batch);
    List<UUID> ids = jobs.insert(handle, batch);
    // In the caller's transaction the NOTIFY, sent at its commit, is the only wake-up.
    if (!handle.isInTransaction()) {
      committed(batch);
    }
    submitListeners.submitted(batch, ids);
    return ids;
  }

  /**
   * The batch is committed, in a transaction of its own: wake this JVM's workers of its queues
   * ahead of the NOTIFY. Not for a caller's transaction: it may hold several submits and send one
   * NOTIFY for them all, and a worker counts the notifications it awaits.
   */
  private void committed(List<NewJob> batch) {
    if (!config.wakeLocalWorkers() || batch.isEmpty()) {
      return;
    }
    Set<String> queues = new HashSet<>();
    for (NewJob job : batch) {
      queues.add(job.queue());
    }
    wakeups.committed(queues);
  }

  // ---- read ----

  public Optional<Job> get(UUID id) {
    return jobs.get(id);
  }

  /**
   * @throws JobNotFoundException when no job has this id
   */
  public Job require(UUID id) {
    return jobs.get(id).orElseThrow(() -> new JobNotFoundException(id));
  }

  /** The jobs with these ids that exist, read in one statement. */
  public List<Job> getAll(java.util.Collection<UUID> ids) {
    return jobs.getAll(ids);
  }

  public List<Job> list(JobQuery query) {
    return jobs.list(query);
  }

  /**
   * @throws JobNotFoundException when no job has this id
   */
  public ResultView result(UUID id) {
    return ResultView.of(require(id));
  }

  /** Recurring schedules: upsert, pause, resume, delete, trigger and list them. */
  public Schedules schedules() {
    return new Schedules(new ScheduleRepository(database));
  }

  /** Queue controls: pause, resume and flow limits, and the queues' settings. */
  public Queues queues() {
    return new Queues(new io.taskbroker.common.sql.QueueRepository(database));
  }

  public List<QueueStats> stats() {
    return jobs.queueStats();
  }

  // ---- change ----

  /**
   * Cancels a job. A pending job is cancelled at once; a running job's worker is told to stop it,
   * and the job ends cancelled (the returned status is then still {@code RUNNING}). A finished job
   * is left as it is.
   *
   * @return the status after the call
   * @throws JobNotFoundException when no job has this id
   */
  public JobStatus cancel(UUID id) {
    return jobs.cancel(id).orElseThrow(() -> new JobNotFoundException(id));
  }

  /**
   * Redrive: puts a failed or cancelled job back to pending, runnable now, with a fresh attempt
   * budget; its history (errors, last error) stays. A pending, running or completed job is left as
   * it is.
   *
   * @return the status after the call ({@code PENDING} when retried)
   * @throws JobNotFoundException when no job has this id (or it is not the caller's)
   */
  public JobStatus retry(UUID id) {
    return new io.taskbroker.common.sql.QueueRepository(database)
        .retry(id)
        .orElseThrow(() -> new JobNotFoundException(id));
  }

  /**
   * Retries every failed and cancelled job matching the filter (an empty filter: all of them).
   *
   * @return how many jobs went back to pending
   */
  public long retryAll(io.taskbroker.common.JobFilter filter) {
    return bulk(io.taskbroker.common.sql.QueueRepository.BulkAction.RETRY, filter);
  }

  /**
   * Cancels every pending and running job matching the filter, like {@link #cancel} for each. An
   * empty filter is refused; {@link io.taskbroker.common.JobFilter#all()} cancels every job.
   *
   * @return how many jobs were cancelled (pending) or asked to stop (running)
   */
  public long cancelAll(io.taskbroker.common.JobFilter filter) {
    return bulk(io.taskbroker.common.sql.QueueRepository.BulkAction.CANCEL, filter);
  }

  /**
   * Deletes every job matching the filter that is not running. An empty filter is refused; {@link
   * io.taskbroker.common.JobFilter#all()} deletes every job that is not running.
   *
   * @return how many jobs were deleted
   */
  public long deleteAll(io.taskbroker.common.JobFilter filter) {
    return bulk(io.taskbroker.common.sql.QueueRepository.BulkAction.DELETE, filter);
  }

  /**
   * {@link #retryAll(io.taskbroker.common.JobFilter)} in one transaction that is rolled back when
   * it would touch more than {@code atMost} jobs (a command line asks for confirmation then).
   */
  public io.taskbroker.common.BulkResult retryAll(
      io.taskbroker.common.JobFilter filter, long atMost) {
    return bulk(io.taskbroker.common.sql.QueueRepository.BulkAction.RETRY, filter, atMost);
  }

  /** {@link #cancelAll(io.taskbroker.common.JobFilter)}, rolled back above {@code atMost} jobs. */
  public io.taskbroker.common.BulkResult cancelAll(
      io.taskbroker.common.JobFilter filter, long atMost) {
    return bulk(io.taskbroker.common.sql.QueueRepository.BulkAction.CANCEL, filter, atMost);
  }

  /** {@link #deleteAll(io.taskbroker.common.JobFilter)}, rolled back above {@code atMost} jobs. */
  public io.taskbroker.common.BulkResult deleteAll(
      io.taskbroker.common.JobFilter filter, long atMost) {
    return bulk(io.taskbroker.common.sql.QueueRepository.BulkAction.DELETE, filter, atMost);
  }

  private io.taskbroker.common.BulkResult bulk(
      io.taskbroker.common.sql.QueueRepository.BulkAction action,
      io.taskbroker.common.JobFilter filter,
      long atMost) {
    java.util.Objects.requireNonNull(filter, "filter");
    if (atMost < 0) {
      throw new IllegalArgumentException("atMost must not be negative, got " + atMost);
    }
    return new io.taskbroker.common.sql.QueueRepository(database).bulk(action, filter, atMost);
  }

  private long bulk(
      io.taskbroker.common.sql.QueueRepository.BulkAction action,
      io.taskbroker.common.JobFilter filter) {
    java.util.Objects.requireNonNull(filter, "filter");
    return new io.taskbroker.common.sql.QueueRepository(database).bulk(action, filter);
  }

  /** Deletes every finished job that finished more than {@code olderThan} ago. */
  public long prune(Duration olderThan) {
    return prune(olderThan, JobStatus.finalStates());
  }

  /**
   * Deletes finished jobs of these final statuses that finished more than {@code olderThan} ago.
   */
  public long prune(Duration olderThan, Set<JobStatus> statuses) {
    return jobs.prune(olderThan, statuses);
  }

  /** Deletes finished jobs of one queue (of these statuses, older than {@code olderThan}). */
  public long prune(Duration olderThan, Set<JobStatus> statuses, String queue) {
    return jobs.prune(olderThan, statuses, queue);
  }

  // ---- await ----

  /**
   * A future completed with the job once it reaches a final state (completed, failed or cancelled),
   * from any JVM. Driven by LISTEN, with a poll every {@link ClientConfig#awaitPollInterval()} in
   * case a notification is lost. Fails with {@link JobNotFoundException} when there is no such job.
   * Cancelling the future stops the waiting, not the job.
   */
  public CompletableFuture<Job> await(UUID id) {
    return awaiter().await(id);
  }

  /**
   * A future completed with the job's result, mapped to {@code resultType} with taskbroker's
   * Jackson setup, once the job completes (null when it stored no result). It completes
   * exceptionally with {@link JobFailedException} when the job failed or was cancelled, {@link
   * ResultMappingException} when its result does not map, and {@link JobNotFoundException} when
   * there is no such job.
   */
  public <R> CompletableFuture<R> await(UUID id, Class<R> resultType) {
    CompletableFuture<Job> job = await(id);
    CompletableFuture<R> result = new CompletableFuture<>();
    job.whenComplete(
        (finished, failure) -> {
          if (failure != null) {
            result.completeExceptionally(
                failure instanceof CompletionException && failure.getCause() != null
                    ? failure.getCause()
                    : failure);
            return;
          }
          try {
            result.complete(resultOf(finished, resultType));
          } catch (RuntimeException e) {
            result.completeExceptionally(e);
          }
        });
    // Cancelling the typed future stops the waiting, as cancelling the plain one does.
    result.whenComplete(
        (value, failure) -> {
          if (result.isCancelled()) {
            job.cancel(false);
          }
        });
    return result;
  }

  /** As {@link #await(UUID, Class)}, with the result type of the job's type. */
  public <R> CompletableFuture<R> await(UUID id, JobType<?, R> type) {
    return await(id, type.resultType());
  }

  private static <R> R resultOf(Job job, Class<R> resultType) {
    if (job.status() != JobStatus.COMPLETED) {
      throw new JobFailedException(job);
    }
    var node = job.result();
    if (node == null || node.isNull() || node.isMissingNode() || resultType == Void.class) {
      return null;
    }
    try {
      return Json.mapper().treeToValue(node, resultType);
    } catch (com.fasterxml.jackson.core.JsonProcessingException | IllegalArgumentException e) {
      String reason =
          e instanceof com.fasterxml.jackson.core.JsonProcessingException processing
              ? processing.getOriginalMessage()
              : e.getMessage();
      throw new ResultMappingException(job.id(), resultType, reason, e);
    }
  }

  private JobAwaiter awaiter() {
    synchronized (awaiterLock) {
      if (awaiter == null) {
        awaiter = new JobAwaiter(jobs, PgNotifier.of(database), config.awaitPollInterval());
        // A job finishing before LISTEN is up sends its event to nobody; the first await would
        // then wait for the slow poll. If the wait times out, the poll still covers it.
        awaiter.awaitListening(database.config().connectTimeout());
      }
      return awaiter;
    }
  }

  @Override
  public void close() {
    synchronized (awaiterLock) {
      if (awaiter != null) {
        awaiter.close();
        awaiter = null;
      }
    }
    if (ownsDatabase) {
      database.close();
    }
  }
}
