package io.taskbroker.worker.producer;

import static io.taskbroker.worker.testing.JobFactory.job;
import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.NewJob;
import io.taskbroker.worker.testing.ManualWorker;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.TestWorkers;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * A producer that drains a backlog resumes each claim after the last job it claimed, so it does not
 * walk the dead claim-index entries of the jobs before (without vacuum, every job ever claimed).
 * Resuming must never cost a job its turn: a job that sits before that key (a higher priority, one
 * another session held locked as the scan passed it) is claimed as it would be without resuming.
 */
class ResumedClaimTest extends WorkerDatabaseTest {
  private static final Duration LEASE = Duration.ofMinutes(1);

  @Test
  void aResumedClaimStartsAfterTheKeyAndALookFromTheHeadSeesWhatSitsBefore() {
    jobs.insertMany("resume-keys", "quick", 6);
    try (ManualWorker manual = new ManualWorker(database, "resume-keys-worker")) {
      List<Job> first = manual.claim("resume-keys", 2, LEASE);
      assertThat(first).hasSize(2);

      UUID urgent = jobs.insert(job("resume-keys", "quick").priority(-5));
      Job last = first.get(1);
      List<Job> resumed =
          manual.repository().claim(manual.id(), "resume-keys", null, 2, LEASE, last);
      assertThat(resumed).as("resumed after the key").hasSize(2);
      assertThat(resumed)
          .as("the urgent job sits before the key")
          .extracting(Job::id)
          .doesNotContain(urgent);
      for (Job job : resumed) {
        // The backlog shares one run_at (one statement): the key orders them by id.
        assertThat(job.runAt()).isEqualTo(last.runAt());
        assertThat(job.id()).isGreaterThan(last.id());
      }

      List<Job> fromHead = manual.repository().claim(manual.id(), "resume-keys", null, 2, LEASE);
      assertThat(fromHead).as("from the head: the urgent job first").hasSize(2);
      assertThat(fromHead.get(0).id()).isEqualTo(urgent);
    }
  }

  @Test
  void aJobPassedOverWhileLockedRunsWhenTheDrainEndsWithoutWaitingForThePoll() throws Exception {
    List<UUID> backlog = jobs.insertMany("resume-locked", "quick", 3000);
    UUID held = backlog.get(5);
    TestPlugin quick = TestPlugin.completing("quick");
    try (Connection other = database.dataSource().getConnection()) {
      other.setAutoCommit(false);
      try (Statement lock = other.createStatement()) {
        lock.execute("SELECT 1 FROM taskbroker.job_queue WHERE id = '" + held + "' FOR UPDATE");
      }
      // A poll far away: nothing but the producer's own claims can find the job once unlocked.
      workers.start(
          TestWorkers.config("resume-locked", 4).pollInterval(Duration.ofMinutes(5)).prefetch(8),
          quick);
      // The producer has passed the locked job and resumes after its later claims.
      within(20).until(() -> quick.totalExecutions() >= 50);
      other.commit();
    }
    // Unlocked while the drain goes on; no NOTIFY tells of it. When the resumed claims come back
    // short at the end of the backlog, the producer looks from the head at once and finds it.
    within(30).until(() -> jobs.all(backlog, JobStatus.COMPLETED));
    assertThat(quick.executions(held)).isEqualTo(1);
  }

  @Test
  void anUrgentJobSubmittedDuringADrainRunsBeforeTheRestOfTheBacklog() {
    // From another session: the worker learns of it by NOTIFY, and must then look from the head.
    assertUrgentJobOvertakesTheBacklog("resume-urgent", 3000, job -> job);
  }

  @Test
  void anUrgentDelayedJobThatComesDueDuringADrainRunsBeforeTheRestOfTheBacklog() {
    // Announced by NOTIFY when submitted, not yet due then; nothing announces it coming due.
    assertUrgentJobOvertakesTheBacklog(
        "resume-due", 6000, job -> job.delay(Duration.ofMillis(200)));
  }

  /**
   * Drains {@code backlogSize} jobs on 2 slots; once 50 have started, submits one of priority -10
   * (shaped by {@code urgent}) from another session, and asserts it started while more than 1,000
   * backlog jobs were still waiting.
   */
  private void assertUrgentJobOvertakesTheBacklog(
      String queue, int backlogSize, UnaryOperator<NewJob.Builder> urgent) {
    List<UUID> backlog = jobs.insertMany(queue, "quick", backlogSize);
    TestPlugin quick = TestPlugin.completing("quick");
    workers.start(TestWorkers.config(queue, 2).prefetch(8), quick);
    within(20).until(() -> quick.totalExecutions() >= 50);

    UUID id = jobs.insert(urgent.apply(job(queue, "quick").priority(-10)));
    within(30).until(() -> jobs.status(id) == JobStatus.COMPLETED);
    int position = quick.startOrder().indexOf(id);
    // Every job starts once: the backlog jobs that start after the urgent one are the rest.
    int startedAfter = backlog.size() - position;
    assertThat(startedAfter)
        .as("backlog jobs still waiting when the urgent job started (it started %d th)", position)
        .isGreaterThan(1000);
  }
}
