package io.taskbroker.worker.maintenance;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.common.JobStatus;
import io.taskbroker.common.sql.JobRepository;
import io.taskbroker.worker.internal.Supervisor;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The pruner deletes finished jobs past the retention, and nothing else (issue 4). */
class PrunerTest extends WorkerDatabaseTest {
  private static final Duration RETENTION = Duration.ofDays(1);
  private static final Duration OLD = Duration.ofDays(3);

  private static boolean exists(UUID id) {
    return jobs.queryLong("SELECT count(*) FROM taskbroker.jobs WHERE id = ?", id) == 1;
  }

  @Test
  void deletesFinishedJobsPastTheRetentionOnly() {
    UUID oldCompleted = jobs.insert("prune", "p");
    UUID oldFailed = jobs.insert("prune", "p");
    UUID oldCancelled = jobs.insert("prune", "p");
    UUID recentCompleted = jobs.insert("prune", "p");
    UUID oldPending = jobs.insert("prune", "p");
    jobs.finish(oldCompleted, JobStatus.COMPLETED, OLD);
    jobs.finish(oldFailed, JobStatus.FAILED, OLD);
    jobs.finish(oldCancelled, JobStatus.CANCELLED, OLD);
    jobs.finish(recentCompleted, JobStatus.COMPLETED, Duration.ofHours(1));
    jobs.execute(
        "UPDATE taskbroker.jobs SET created_at = now() - interval '10 days' WHERE id = ?",
        oldPending);

    Pruner pruner =
        new Pruner(
            new JobRepository(database),
            RETENTION,
            Duration.ofMinutes(1),
            Supervisor.alone("pruner-test").unit("pruner", Duration.ofHours(1)));

    assertThat(pruner.pruneOnce()).isEqualTo(3);
    assertThat(exists(oldCompleted)).isFalse();
    assertThat(exists(oldFailed)).isFalse();
    assertThat(exists(oldCancelled)).isFalse();
    assertThat(exists(recentCompleted)).isTrue();
    assertThat(exists(oldPending)).isTrue();
    assertThat(pruner.pruneOnce()).isZero();
  }

  private List<UUID> oldFinishedJobs(int count) {
    List<UUID> ids = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      UUID id = jobs.insert("prune-paced", "p");
      jobs.finish(id, JobStatus.COMPLETED, OLD);
      ids.add(id);
    }
    return ids;
  }

  private static Pruner pacedPruner(int batchSize, PacedBatches.Rest rest) {
    return new Pruner(
        new JobRepository(database),
        RETENTION,
        Duration.ofMinutes(1),
        Supervisor.alone("pruner-test").unit("pruner", Duration.ofHours(1)),
        batchSize,
        rest);
  }

  @Test
  void aPassRestsAfterEveryFullBatchInProportionToItsWork() {
    List<UUID> old = oldFinishedJobs(25);
    List<Duration> rests = new ArrayList<>();

    long pruned = pacedPruner(10, rests::add).pruneOnce();

    assertThat(pruned).isEqualTo(25);
    assertThat(old).noneMatch(PrunerTest::exists);
    // 10, rest, 10, rest, 5: the short batch ends the pass without a rest.
    assertThat(rests).hasSize(2).allMatch(rest -> rest.compareTo(Duration.ZERO) > 0);
  }

  @Test
  void aStopDuringARestEndsThePassAndLeavesTheRestForLater() {
    List<UUID> old = oldFinishedJobs(25);
    Pruner pruner =
        pacedPruner(
            10,
            rest -> {
              throw new InterruptedException("stopping");
            });
    try {
      assertThat(pruner.pruneOnce()).isEqualTo(10);
      assertThat(Thread.currentThread().isInterrupted()).isTrue();
    } finally {
      Thread.interrupted();
    }
    assertThat(old.stream().filter(PrunerTest::exists)).hasSize(15);

    assertThat(pacedPruner(10, rest -> {}).pruneOnce()).isEqualTo(15);
  }

  @Test
  void aWorkerWithARetentionPrunesOnItsOwn() {
    UUID old = jobs.insert("prune-worker", "p");
    UUID recent = jobs.insert("prune-worker", "p");
    jobs.finish(old, JobStatus.COMPLETED, OLD);
    jobs.finish(recent, JobStatus.COMPLETED, Duration.ofMinutes(5));

    workers.start(
        TestWorkers.config("prune-worker", 1)
            .retention(RETENTION)
            .pruneInterval(Duration.ofMillis(100)),
        TestPlugin.completing("p"));

    within(5).until(() -> !exists(old));
    assertThat(exists(recent)).isTrue();
  }
}
