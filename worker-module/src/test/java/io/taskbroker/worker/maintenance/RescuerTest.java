package io.taskbroker.worker.maintenance;

import static io.taskbroker.worker.testing.JobFactory.job;
import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.NewJob;
import io.taskbroker.worker.testing.ManualWorker;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import org.junit.jupiter.api.Test;

/**
 * The rescuer takes back jobs whose worker died: a dead worker is simulated by claiming as a fake
 * worker id and never heartbeating (issue 4).
 */
class RescuerTest extends WorkerDatabaseTest {
  private static final Duration SHORT_LEASE = Duration.ofMillis(1);
  private static final Duration LONG_LEASE = Duration.ofMinutes(5);

  private final ManualWorker dead = new ManualWorker(database, "dead-worker");
  private final ManualWorker rescuer = new ManualWorker(database, "rescuing-worker");

  /** Rescue passes until this job has left running; returns how many jobs the passes took. */
  private int rescueUntilTaken(UUID id) {
    int[] total = {0};
    within(5)
        .until(
            () -> {
              total[0] += rescuer.rescueOnce();
              return jobs.status(id) != JobStatus.RUNNING;
            });
    return total[0];
  }

  @Test
  void aJobWhoseLeaseExpiredGoesBackToPendingWithAWorkerLostEntry() {
    UUID id = jobs.insert("rescue-pending", "p");
    Job claimed = dead.claimOne("rescue-pending", SHORT_LEASE);

    assertThat(rescueUntilTaken(id)).isEqualTo(1);

    Job row = jobs.get(id);
    assertThat(row.status()).isEqualTo(JobStatus.PENDING);
    assertThat(row.attempt()).as("the lost attempt counts").isEqualTo(claimed.attempt());
    assertThat(row.leaseExpiresAt()).isNull();
    assertThat(row.completedAt()).isNull();
    assertThat(row.error()).contains("dead-worker").contains("lease expired");
    assertThat(row.errors()).hasSize(1);
    JsonNode entry = row.errors().get(0);
    assertThat(entry.path("kind").asText()).isEqualTo("worker_lost");
    assertThat(entry.path("attempt").asInt()).isEqualTo(1);
    assertThat(entry.path("worker_id").asText()).isEqualTo("dead-worker");

    // And a live worker then runs it to the end.
    TestPlugin plugin = TestPlugin.completing("p");
    workers.start("rescue-pending", 1, plugin);
    within(10).until(() -> jobs.status(id) == JobStatus.COMPLETED);
    assertThat(jobs.get(id).attempt()).isEqualTo(2);
    assertThat(plugin.executions(id)).isEqualTo(1);
  }

  @Test
  void aJobWhoseLeaseExpiredOnItsLastAttemptFails() {
    UUID id = jobs.insert(job("rescue-failed", "p").maxAttempts(1));
    dead.claimOne("rescue-failed", SHORT_LEASE);

    rescueUntilTaken(id);

    Job row = jobs.get(id);
    assertThat(row.status()).isEqualTo(JobStatus.FAILED);
    assertThat(row.completedAt()).isNotNull();
    assertThat(row.attempt()).isEqualTo(1);
    assertThat(row.errors()).hasSize(1);
    assertThat(row.errors().get(0).path("kind").asText()).isEqualTo("worker_lost");
    assertThat(row.error()).contains("lease expired");
  }

  @Test
  void aJobWhoseLeaseExpiredAfterACancelRequestEndsCancelled() {
    UUID id = jobs.insert("rescue-cancel", "p");
    dead.claimOne("rescue-cancel", LONG_LEASE);
    assertThat(jobs.cancel(id)).isEqualTo("running");
    jobs.expireLease(id);

    assertThat(rescuer.rescueOnce()).isEqualTo(1);

    Job row = jobs.get(id);
    assertThat(row.status()).isEqualTo(JobStatus.CANCELLED);
    assertThat(row.completedAt()).isNotNull();
    assertThat(row.errors().get(0).path("kind").asText()).isEqualTo("worker_lost");
  }

  @Test
  void aLiveLeaseIsLeftAlone() {
    UUID id = jobs.insert("rescue-live", "p");
    dead.claimOne("rescue-live", LONG_LEASE);

    assertThat(rescuer.rescueOnce()).isZero();

    Job row = jobs.get(id);
    assertThat(row.status()).isEqualTo(JobStatus.RUNNING);
    assertThat(row.workerId()).isEqualTo("dead-worker");
    assertThat(row.errors()).isEmpty();
  }

  @Test
  void concurrentRescuersRescueEachJobExactlyOnce() throws Exception {
    int count = 600;
    List<NewJob> batch = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      batch.add(job("rescue-race", "p").build());
    }
    List<UUID> ids = jobs.insertAll(batch);
    assertThat(dead.claim("rescue-race", count, SHORT_LEASE)).hasSize(count);
    within(5)
        .until(
            () ->
                jobs.queryLong(
                        "SELECT count(*) FROM taskbroker.jobs WHERE queue = 'rescue-race'"
                            + " AND lease_expires_at < now()")
                    == count);

    int rescuers = 4;
    CyclicBarrier start = new CyclicBarrier(rescuers);
    List<CompletableFuture<Integer>> passes = new ArrayList<>();
    for (int i = 0; i < rescuers; i++) {
      ManualWorker own = new ManualWorker(database, "rescuer-" + i);
      passes.add(
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  start.await();
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
                return own.rescueOnce();
              }));
    }
    int total = 0;
    for (CompletableFuture<Integer> pass : passes) {
      total += pass.get();
    }

    assertThat(total).isEqualTo(count);
    assertThat(jobs.all(ids, JobStatus.PENDING)).isTrue();
    assertThat(
            jobs.queryLong(
                "SELECT count(*) FROM taskbroker.jobs WHERE queue = 'rescue-race'"
                    + " AND jsonb_array_length(errors) = 1"))
        .isEqualTo(count);
  }

  @Test
  void rowsOfWorkersSilentForLongAreReapedAndLiveOnesKept() {
    jobs.execute(
        "INSERT INTO taskbroker.workers (id, host, pid, concurrency, last_heartbeat_at)"
            + " VALUES ('silent', 'gone-host', 1, 1, now() - interval '2 hours'),"
            + " ('alive', 'here', 2, 1, now())");

    rescuer.rescueOnce();

    assertThat(jobs.queryLong("SELECT count(*) FROM taskbroker.workers WHERE id = 'silent'"))
        .isZero();
    assertThat(jobs.queryLong("SELECT count(*) FROM taskbroker.workers WHERE id = 'alive'"))
        .isEqualTo(1);
  }
}
