package io.taskbroker.worker.producer;

import static io.taskbroker.worker.testing.JobFactory.job;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.QueueLimits;
import io.taskbroker.common.sql.QueueRepository;
import io.taskbroker.worker.testing.ManualWorker;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.function.BiFunction;
import org.junit.jupiter.api.Test;

/**
 * A claim returns what the job runs with, not what its earlier attempts left: a job retried many
 * times carries an attempt history (each entry up to 8 kB of error and 16 kB of trace), which would
 * otherwise travel to the worker and be parsed there on every claim, beside its batch mates. The
 * plain claim and the limited one alike; the history stays in the row.
 */
class ClaimedColumnsTest extends WorkerDatabaseTest {
  private static final Duration LEASE = Duration.ofMinutes(1);

  /** Forty failed attempts, each with a 16 kB trace: about 650 kB of history. */
  private static UUID retriedJob(String queue) {
    UUID id = jobs.insert(job(queue, "quick").payloadJson("{\"n\": 7}").maxAttempts(50));
    jobs.execute(
        "UPDATE taskbroker.job_queue SET attempt = 40, error = 'attempt 40 failed',"
            + " errors = (SELECT jsonb_agg(jsonb_build_object('attempt', n, 'kind', 'error',"
            + " 'error', 'attempt ' || n || ' failed', 'trace', repeat('at x.y(Z.java:1)', 1024)))"
            + " FROM generate_series(1, 40) n) WHERE id = ?",
        id);
    return id;
  }

  @Test
  void thePlainClaimLeavesTheAttemptHistoryInTheRow() {
    assertClaimedWithoutHistory("claimed-plain", (manual, queue) -> manual.claim(queue, 10, LEASE));
  }

  @Test
  void theLimitedClaimLeavesTheAttemptHistoryInTheRow() {
    new QueueRepository(database)
        .setLimits("claimed-limited", QueueLimits.builder().globalConcurrency(5).build());
    assertClaimedWithoutHistory(
        "claimed-limited",
        (manual, queue) -> manual.repository().claimLimited(manual.id(), queue, null, 10, LEASE));
  }

  private void assertClaimedWithoutHistory(
      String queue, BiFunction<ManualWorker, String, List<Job>> claim) {
    UUID retried = retriedJob(queue);
    UUID fresh = jobs.insert(job(queue, "quick"));
    try (ManualWorker manual = new ManualWorker(database, queue + "-worker")) {
      List<Job> claimed = claim.apply(manual, queue);

      assertThat(claimed).extracting(Job::id).containsExactlyInAnyOrder(retried, fresh);
      Job job = claimed.stream().filter(j -> j.id().equals(retried)).findFirst().orElseThrow();
      // What runs the job arrives whole.
      assertThat(job.status()).isEqualTo(JobStatus.RUNNING);
      assertThat(job.attempt()).isEqualTo(41);
      assertThat(job.maxAttempts()).isEqualTo(50);
      assertThat(job.plugin()).isEqualTo("quick");
      assertThat(job.queue()).isEqualTo(queue);
      assertThat(job.payload().path("n").asInt()).isEqualTo(7);
      assertThat(job.workerId()).isEqualTo(manual.id());
      assertThat(job.startedAt()).isNotNull();
      assertThat(job.runAt()).isNotNull();
      assertThat(job.decodeError()).isNull();
      // What the attempts before left does not.
      assertThat(job.errors()).as("attempt history on the claimed job").isEmpty();
      assertThat(job.error()).as("last error on the claimed job").isNull();
    }
    Job row = jobs.get(retried);
    assertThat(row.errors()).as("attempt history in the row").hasSize(40);
    assertThat(row.error()).isEqualTo("attempt 40 failed");
  }
}
