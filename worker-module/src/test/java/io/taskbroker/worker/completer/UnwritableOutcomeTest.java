package io.taskbroker.worker.completer;

import static io.taskbroker.worker.testing.JobFactory.job;
import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * An outcome the database refuses (PostgreSQL stores no NUL character in text or jsonb) must not
 * leave its job running, nor stop the completer writing the others in its batch.
 */
class UnwritableOutcomeTest extends WorkerDatabaseTest {

  @Test
  void aResultTheDatabaseRefusesFailsThatJobAndTheOthersStillComplete() {
    TestPlugin plugin =
        TestPlugin.named(
            "nul",
            context ->
                context.payload().path("bad").asBoolean()
                    ? Json.object().put("text", "a\u0000b")
                    : TestPlugin.okResult(context));
    UUID bad = jobs.insert(job("nul", "nul").payload(Map.of("bad", true)));
    List<UUID> good = jobs.insertMany("nul", "nul", 5);
    Worker worker = workers.start("nul", 6, plugin);

    within(10).until(() -> jobs.status(bad).isFinal() && jobs.all(good, JobStatus.COMPLETED));

    Job row = jobs.get(bad);
    assertThat(row.status()).isEqualTo(JobStatus.FAILED);
    assertThat(row.error()).startsWith("result could not be recorded");
    assertThat(worker.runningCount()).isZero();
  }

  @Test
  void anErrorMessageWithANulCharacterStillEndsTheJob() {
    TestPlugin plugin =
        TestPlugin.named(
            "nul-error",
            context -> {
              throw new IllegalStateException("broken\u0000message");
            });
    UUID id = jobs.insert(job("nul-error", "nul-error").maxAttempts(1));
    workers.start("nul-error", 1, plugin);

    within(10).until(() -> jobs.status(id).isFinal());

    Job row = jobs.get(id);
    assertThat(row.status()).isEqualTo(JobStatus.FAILED);
    // The message is kept, with the NUL shown as U+FFFD, rather than lost to a fallback.
    assertThat(row.error()).contains("broken\uFFFDmessage");
  }
}
