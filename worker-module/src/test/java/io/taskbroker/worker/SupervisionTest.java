package io.taskbroker.worker;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.worker.testing.Gate;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * No half-alive worker: an Error on one of the worker's own threads (not a plugin's) stops the
 * worker loudly (health FAILED, its row says so, no more claims, no job left running, attempts
 * spent); and the fleet view shows each unit's health.
 */
class SupervisionTest extends WorkerDatabaseTest {

  @Test
  void anErrorOnTheCompleterThreadStopsTheWorkerLoudly() {
    anErrorStopsTheWorkerLoudly("completer", "sup-completer");
  }

  @Test
  void anErrorOnTheHeartbeatThreadStopsTheWorkerLoudly() {
    anErrorStopsTheWorkerLoudly("heartbeat", "sup-heartbeat");
  }

  @Test
  void anErrorOnTheProducerThreadStopsTheWorkerLoudly() {
    anErrorStopsTheWorkerLoudly("producer-sup-producer", "sup-producer");
  }

  @Test
  void anErrorOnTheRescuerThreadStopsTheWorkerLoudly() {
    anErrorStopsTheWorkerLoudly("rescuer", "sup-rescuer");
  }

  private void anErrorStopsTheWorkerLoudly(String unit, String queue) {
    Gate never = new Gate();
    TestPlugin stuck =
        TestPlugin.named(
            "stuck-" + queue,
            context -> {
              never.pass();
              return TestPlugin.okResult(context);
            });
    UUID held = jobs.insert(queue, stuck.name());
    Worker worker = workers.start(queue, 2, stuck);
    within(10).until(() -> stuck.running() == 1);
    assertThat(worker.isHealthy()).isTrue();

    OutOfMemoryError error = new OutOfMemoryError("injected into " + unit);
    worker.injectFault(unit, error);

    within(10).until(() -> worker.health().status() == WorkerHealth.Status.FAILED);
    WorkerHealth health = worker.health();
    assertThat(worker.isHealthy()).isFalse();
    assertThat(health.failedUnit()).contains(unit);
    assertThat(health.failure()).containsSame(error);
    assertThat(health.units())
        .filteredOn(u -> u.name().equals(unit))
        .singleElement()
        .satisfies(u -> assertThat(u.state()).isEqualTo(UnitHealth.State.FAILED));

    // No job stays running under the failed worker: its attempt is spent, not refunded.
    within(10).until(() -> jobs.status(held) != JobStatus.RUNNING);
    Job row = jobs.get(held);
    assertThat(row.status()).isEqualTo(JobStatus.PENDING);
    assertThat(row.attempt()).isEqualTo(1);
    assertThat(row.errors()).hasSize(1);
    assertThat(row.errors().get(0).path("kind").asText()).isEqualTo("worker_exit");
    assertThat(row.errors().get(0).path("error").asText()).contains(unit);

    // The failed worker's row stays, saying so, and the worker claims nothing more.
    within(10)
        .until(
            () ->
                "failed"
                    .equals(
                        text("SELECT status FROM taskbroker.workers WHERE id = ?", worker.id())));
    UUID late = jobs.insert(queue, stuck.name());
    within(5)
        .during(Duration.ofMillis(1000))
        .until(
            () -> jobs.status(late) == JobStatus.PENDING && jobs.status(held) != JobStatus.RUNNING);
    assertThat(stuck.executions(late)).isZero();
  }

  @Test
  void workersTableShowsUnitHealth() {
    Worker worker = workers.start("sup-row", 1, TestPlugin.completing("sup-row-plugin"));

    within(10)
        .until(
            () -> {
              JsonNode units = units(worker.id());
              return units != null
                  && units.has("completer")
                  && units.has("heartbeat")
                  && units.has("producer-sup-row")
                  && units.has("rescuer")
                  && units.has("watchdog");
            });
    JsonNode units = units(worker.id());
    for (String unit : new String[] {"completer", "heartbeat", "producer-sup-row", "rescuer"}) {
      assertThat(units.path(unit).path("state").asText()).as(unit).isEqualTo("ok");
      assertThat(units.path(unit).path("last_progress_at").asText()).as(unit).isNotEmpty();
    }
    assertThat(text("SELECT status FROM taskbroker.workers WHERE id = ?", worker.id()))
        .isEqualTo("healthy");
  }

  @Test
  void aPendingJobWithAttemptsUsedUpIsNotSilentlyStuck() {
    UUID id = jobs.insert("sup-stuck", "stuck-plugin");
    jobs.finish(id, JobStatus.FAILED, Duration.ofMinutes(1));
    jobs.execute("UPDATE taskbroker.jobs SET attempt = max_attempts WHERE id = ?", id);

    // The manual retry that forgets attempt = 0 would make a job no worker ever claims: refused.
    assertThatThrownBy(
            () ->
                jobs.execute(
                    "UPDATE taskbroker.jobs SET status = 'pending', completed_at = NULL,"
                        + " run_at = now() WHERE id = ?",
                    id))
        .hasStackTraceContaining("jobs_pending_has_attempts_left");
    assertThat(jobs.status(id)).isEqualTo(JobStatus.FAILED);

    // The README's retry, with attempt = 0, is claimed and run; until a worker serves the queue,
    // the job shows in unserved_jobs with the reason.
    jobs.execute(
        "UPDATE taskbroker.jobs SET status = 'pending', completed_at = NULL, attempt = 0,"
            + " run_at = now() WHERE id = ? AND status = 'failed'",
        id);
    assertThat(text("SELECT reason FROM taskbroker.unserved_jobs WHERE queue = ?", "sup-stuck"))
        .isEqualTo("no live worker serves the queue");
    workers.start("sup-stuck", 1, TestPlugin.completing("stuck-plugin"));
    within(10).until(() -> jobs.status(id) == JobStatus.COMPLETED);
  }

  /** One text value, or null when there is no row. */
  private static String text(String sql, String parameter) {
    return jobs.jdbi()
        .withHandle(
            handle ->
                handle
                    .createQuery(sql)
                    .bind(0, parameter)
                    .mapTo(String.class)
                    .findOne()
                    .orElse(null));
  }

  private static JsonNode units(String workerId) {
    return jobs.jdbi()
        .withHandle(
            handle ->
                handle
                    .createQuery("SELECT units::text FROM taskbroker.workers WHERE id = ?")
                    .bind(0, workerId)
                    .mapTo(String.class)
                    .findOne()
                    .map(Json::parse)
                    .orElse(null));
  }
}
