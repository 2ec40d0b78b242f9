package io.taskbroker.worker.completer;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.worker.WorkerConfig;
import io.taskbroker.worker.executor.Outcome;
import io.taskbroker.worker.executor.Outcomes;
import io.taskbroker.worker.executor.RunningJob;
import io.taskbroker.worker.testing.ManualWorker;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * A batch waits briefly for the outcomes of jobs the worker still holds, and only briefly: an
 * outcome is written even when the jobs it waits for never finish.
 */
class LingerTest extends WorkerDatabaseTest {

  @Test
  void anOutcomeIsWrittenEvenWhileOtherHeldJobsNeverFinish() {
    ManualWorker claimer = new ManualWorker(database, "linger-w");
    jobs.insertMany("linger", "p", 2);
    Job done = claimer.claimOne("linger", Duration.ofMinutes(5));
    Job stuck = claimer.claimOne("linger", Duration.ofMinutes(5));
    List<RunningJob> left = new CopyOnWriteArrayList<>();
    Outcomes outcomes = TestCompleters.outcomes("linger-w", WorkerConfig.DEFAULT_MAX_RESULT_BYTES);
    // The worker holds both jobs; the second one's outcome never comes.
    Completer completer = TestCompleters.completer(database, "linger-w", outcomes, () -> 2);
    completer.start();
    try {
      completer.accept(
          outcomes.prepare(
              RunningJob.unowned(done, left::add),
              new Outcome.Completed(Json.object().put("ok", true))));

      within(5).until(() -> jobs.status(done.id()) == JobStatus.COMPLETED);
      assertThat(completer.writtenCount()).isEqualTo(1);
      assertThat(jobs.status(stuck.id())).isEqualTo(JobStatus.RUNNING);
    } finally {
      completer.stop(Duration.ofSeconds(5));
    }
  }
}
