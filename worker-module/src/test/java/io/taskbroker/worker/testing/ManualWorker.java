package io.taskbroker.worker.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.common.Database;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.sql.ClaimRef;
import io.taskbroker.common.sql.HeartbeatEntry;
import io.taskbroker.common.sql.OutcomeWrite;
import io.taskbroker.common.sql.WorkerRepository;
import io.taskbroker.worker.internal.Supervisor;
import io.taskbroker.worker.maintenance.Rescuer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A worker moved by hand, one statement at a time (after db-scheduler's ManualScheduler): claim as
 * a chosen worker id, complete, heartbeat, and run one rescue pass on demand. It runs no plugin and
 * no thread, so a test decides exactly when each step happens. Thread-safe.
 */
public final class ManualWorker {
  private final WorkerRepository repository;
  private final String workerId;
  private final Rescuer rescuer;

  public ManualWorker(Database database, String workerId) {
    this.repository = new WorkerRepository(database);
    this.workerId = workerId;
    // Never started: rescueOnce() runs a pass on the caller's thread.
    this.rescuer =
        new Rescuer(
            repository,
            Duration.ofMinutes(1),
            Duration.ofHours(1),
            Supervisor.alone(workerId).unit("rescuer", Duration.ofHours(1)));
  }

  public String id() {
    return workerId;
  }

  public WorkerRepository repository() {
    return repository;
  }

  /** Claims up to {@code limit} jobs of the queue, any plugin, with this lease. */
  public List<Job> claim(String queue, int limit, Duration lease) {
    return repository.claim(workerId, queue, null, limit, lease);
  }

  /** Claims exactly one job of the queue and returns it. */
  public Job claimOne(String queue, Duration lease) {
    List<Job> claimed = claim(queue, 1, lease);
    assertThat(claimed).as("jobs %s claimed from %s", workerId, queue).hasSize(1);
    return claimed.get(0);
  }

  /** Writes a completed outcome for the job as this worker holds it; returns what was accepted. */
  public Map<UUID, JobStatus> complete(Job job, JsonNode result) {
    return repository.complete(
        workerId,
        List.of(
            new OutcomeWrite(
                job.id(),
                job.attempt(),
                JobStatus.COMPLETED,
                result,
                null,
                null,
                null,
                null,
                false)));
  }

  /** Writes a final failure for the job as this worker holds it; returns what was accepted. */
  public Map<UUID, JobStatus> fail(Job job, String error) {
    return repository.complete(
        workerId,
        List.of(
            new OutcomeWrite(
                job.id(), job.attempt(), JobStatus.FAILED, null, error, null, null, null, false)));
  }

  /** Extends the lease of these jobs; returns the held ones and whether a cancel is requested. */
  public Map<UUID, Boolean> heartbeat(Duration lease, Job... jobs) {
    List<HeartbeatEntry> entries =
        Arrays.stream(jobs)
            .map(job -> new HeartbeatEntry(new ClaimRef(job.id(), job.attempt()), null, null))
            .toList();
    return repository.heartbeat(workerId, entries, lease);
  }

  /**
   * One rescue pass now, as any worker's rescuer runs it; returns how many jobs it took back.
   * Throws when the pass failed (a test that expects "nothing to rescue" must not pass because the
   * database refused the statement).
   */
  public int rescueOnce() {
    return rescuer.rescueOnce();
  }
}
