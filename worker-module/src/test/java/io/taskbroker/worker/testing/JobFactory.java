package io.taskbroker.worker.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.common.Database;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.NewJob;
import io.taskbroker.common.sql.JobRepository;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jdbi.v3.core.Jdbi;

/**
 * Inserts jobs and reads rows back, through the project's own repository and plain SQL. Stateless
 * apart from the database; thread-safe.
 */
public final class JobFactory {
  private final Database database;
  private final JobRepository jobs;

  public JobFactory(Database database) {
    this.database = database;
    this.jobs = new JobRepository(database);
  }

  /** A job builder for this queue and plugin, every other field at its default. */
  public static NewJob.Builder job(String queue, String plugin) {
    return NewJob.builder(plugin).queue(queue);
  }

  public UUID insert(NewJob job) {
    return jobs.insert(List.of(job)).get(0);
  }

  public UUID insert(NewJob.Builder job) {
    return insert(job.build());
  }

  /** Inserts a job with every default but its queue and plugin. */
  public UUID insert(String queue, String plugin) {
    return insert(job(queue, plugin));
  }

  /** Inserts {@code count} jobs of this queue and plugin in one statement. */
  public List<UUID> insertMany(String queue, String plugin, int count) {
    List<NewJob> batch = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      batch.add(job(queue, plugin).payload(Map.of("n", i)).build());
    }
    return jobs.insert(batch);
  }

  public List<UUID> insertAll(List<NewJob> batch) {
    return jobs.insert(batch);
  }

  public Job get(UUID id) {
    return jobs.get(id).orElseThrow(() -> new AssertionError("no job " + id));
  }

  public JobStatus status(UUID id) {
    return get(id).status();
  }

  public Map<UUID, JobStatus> statuses(Collection<UUID> ids) {
    return jobs.statuses(ids);
  }

  /** Whether every one of these jobs is in this status. */
  public boolean all(Collection<UUID> ids, JobStatus status) {
    Map<UUID, JobStatus> now = statuses(ids);
    return now.size() == ids.size() && now.values().stream().allMatch(s -> s == status);
  }

  /** How many jobs of the queue are in this status. */
  public long count(String queue, JobStatus status) {
    return queryLong(
        "SELECT count(*) FROM taskbroker.jobs WHERE queue = ? AND status = ?",
        queue,
        status.dbValue());
  }

  /** One number from a query with positional parameters. */
  public long queryLong(String sql, Object... params) {
    return jdbi()
        .withHandle(
            handle -> {
              var query = handle.createQuery(sql);
              for (int i = 0; i < params.length; i++) {
                query.bind(i, params[i]);
              }
              return query.mapTo(Long.class).one();
            });
  }

  /** Runs a statement with positional parameters; returns the rows it changed. */
  public int execute(String sql, Object... params) {
    return jdbi()
        .withHandle(
            handle -> {
              var update = handle.createUpdate(sql);
              for (int i = 0; i < params.length; i++) {
                update.bind(i, params[i]);
              }
              return update.execute();
            });
  }

  /** Makes a running job's lease run out now, as if its worker had stopped heartbeating. */
  public void expireLease(UUID id) {
    int changed =
        execute(
            "UPDATE taskbroker.jobs SET lease_expires_at = now() - interval '1 millisecond'"
                + " WHERE id = ? AND status = 'running'",
            id);
    assertThat(changed).as("running job %s to expire", id).isEqualTo(1);
  }

  /** Moves a job straight to a final status, finished {@code ago} before now. */
  public void finish(UUID id, JobStatus status, Duration ago) {
    assertThat(status.isFinal()).isTrue();
    int changed =
        execute(
            "UPDATE taskbroker.jobs SET status = ?, worker_id = NULL, lease_expires_at = NULL,"
                + " completed_at = now() - ? * interval '1 millisecond' WHERE id = ?",
            status.dbValue(),
            ago.toMillis(),
            id);
    assertThat(changed).isEqualTo(1);
  }

  /** Asks for a cancel the way {@code taskbroker.cancel} does; returns the status it reports. */
  public String cancel(UUID id) {
    return jdbi()
        .withHandle(
            handle ->
                handle
                    .createQuery("SELECT taskbroker.cancel(?)")
                    .bind(0, id)
                    .mapTo(String.class)
                    .one());
  }

  public Jdbi jdbi() {
    return database.jdbi();
  }

  public Database database() {
    return database;
  }
}
