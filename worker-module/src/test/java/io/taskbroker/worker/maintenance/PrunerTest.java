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
