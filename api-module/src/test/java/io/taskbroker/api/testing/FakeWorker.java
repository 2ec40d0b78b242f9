package io.taskbroker.api.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.sql.ClaimRef;
import io.taskbroker.common.sql.HeartbeatEntry;
import io.taskbroker.common.sql.OutcomeWrite;
import io.taskbroker.common.sql.WorkerRepository;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * A worker moved by hand, one statement at a time, through the worker's own repository: claim a
 * job, finish it, learn of a cancel. It runs no plugin and no thread.
 */
public final class FakeWorker {
  private static final Duration LEASE = Duration.ofMinutes(5);

  private final TaskBrokerClient client;
  private final WorkerRepository repository;
  private final String workerId;

  public FakeWorker(TaskBrokerClient client, String workerId) {
    this.client = client;
    this.repository = new WorkerRepository(client.database());
    this.workerId = workerId;
  }

  /**
   * Claims this very job; the caller makes sure no other pending job of its queue has its plugin.
   */
  public Job claim(UUID id) {
    Job job = client.require(id);
    List<Job> claimed = repository.claim(workerId, job.queue(), List.of(job.plugin()), 1, LEASE);
    assertThat(claimed).extracting(Job::id).as("claimed").containsExactly(id);
    return claimed.get(0);
  }

  public void complete(UUID id, JsonNode result) {
    finish(id, JobStatus.COMPLETED, result, null);
  }

  public void fail(UUID id, String error) {
    finish(id, JobStatus.FAILED, null, error);
  }

  /** Heartbeats the job, expects to learn it was cancelled, and stops it as a worker would. */
  public void honourCancel(UUID id) {
    Job job = client.require(id);
    Map<UUID, Boolean> held =
        repository.heartbeat(
            workerId,
            List.of(new HeartbeatEntry(new ClaimRef(id, job.attempt()), null, null)),
            LEASE);
    assertThat(held).as("still held, cancel requested").containsEntry(id, true);
    finish(id, JobStatus.CANCELLED, null, "cancelled");
  }

  private void finish(UUID id, JobStatus status, JsonNode result, String error) {
    Job job = client.require(id);
    Map<UUID, JobStatus> accepted =
        repository.complete(
            workerId,
            List.of(
                switch (status) {
                  case COMPLETED -> OutcomeWrite.completed(id, job.attempt(), result);
                  case CANCELLED -> OutcomeWrite.cancelled(id, job.attempt(), error);
                  default -> OutcomeWrite.failed(id, job.attempt(), error, null);
                }));
    assertThat(accepted).containsEntry(id, status);
  }
}
