package io.taskbroker.api.tracker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.common.JobStatus;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class InMemoryJobTrackerTest extends JobTrackerContract {
  private InMemoryJobTracker tracker;

  @BeforeEach
  void createTracker() {
    tracker = new InMemoryJobTracker();
  }

  @Override
  protected JobTracker tracker() {
    return tracker;
  }

  @Override
  protected void start(UUID id) {
    assertThat(tracker.markRunning(id)).isTrue();
  }

  @Override
  protected void complete(UUID id, JsonNode result) {
    assertThat(tracker.complete(id, result)).isTrue();
  }

  @Override
  protected void fail(UUID id, String error) {
    assertThat(tracker.fail(id, error)).isTrue();
  }

  @Override
  protected void stopCancelled(UUID id) {
    // The runner was interrupted by the cancel; whatever it reports now changes nothing.
    assertThat(tracker.complete(id, null)).isFalse();
  }

  @Test
  void cancellingARunningJobInterruptsItsRunner() {
    List<UUID> interrupted = new CopyOnWriteArrayList<>();
    tracker.setRunningCanceller(interrupted::add);
    UUID pending = tracker.createJob("p1", null, null, null);
    UUID running = tracker.createJob("p2", null, null, null);
    tracker.markRunning(running);

    tracker.cancel(pending);
    tracker.cancel(running);

    assertThat(interrupted).containsExactly(running);
  }

  @Test
  void aFinalStateIsNeverLeft() {
    UUID id = tracker.createJob("p", null, null, null);
    tracker.markRunning(id);
    tracker.fail(id, "first");

    assertThat(tracker.complete(id, "late")).isFalse();
    assertThat(tracker.fail(id, "second")).isFalse();
    assertThat(tracker.markRunning(id)).isFalse();
    assertThat(tracker.get(id).orElseThrow().error()).isEqualTo("first");
    assertThat(tracker.get(id).orElseThrow().status()).isEqualTo(JobStatus.FAILED);
  }

  @Test
  void timestampsComeFromTheInjectedClock() {
    Instant fixed = Instant.parse("2030-06-01T10:00:00Z");
    InMemoryJobTracker clocked =
        new InMemoryJobTracker(Clock.fixed(fixed, ZoneId.of("Pacific/Chatham")));
    UUID id = clocked.createJob("p", null, null, null);
    clocked.markRunning(id);
    clocked.complete(id, null);

    TrackedJob job = clocked.get(id).orElseThrow();
    assertThat(job.createdAt()).isEqualTo(fixed);
    assertThat(job.startedAt()).isEqualTo(fixed);
    assertThat(job.completedAt()).isEqualTo(fixed);
    assertThat(job.toMap()).containsEntry("created_at", "2030-06-01T10:00:00Z");
  }

  @Test
  void anOutOfMemoryErrorFromACallbackIsRethrownAfterTheJobIsRecorded() {
    tracker.onCompletion(
        job -> {
          throw new OutOfMemoryError("simulated");
        });
    UUID id = tracker.createJob("p", null, null, null);
    tracker.markRunning(id);

    assertThatThrownBy(() -> tracker.complete(id, "done")).isInstanceOf(OutOfMemoryError.class);
    assertThat(tracker.get(id).orElseThrow().status()).isEqualTo(JobStatus.COMPLETED);
  }

  @Test
  void aBoundedTrackerForgetsTheOldestFinishedJobsAndKeepsEveryUnfinishedOne() {
    InMemoryJobTracker bounded = new InMemoryJobTracker(2);
    UUID running = bounded.createJob("p", null, null, null);
    bounded.markRunning(running);
    List<UUID> finished = new CopyOnWriteArrayList<>();
    for (int i = 0; i < 5; i++) {
      UUID id = bounded.createJob("p", null, null, null);
      bounded.cancel(id);
      finished.add(id);
    }

    assertThat(bounded.size()).isEqualTo(3);
    assertThat(bounded.get(running)).isPresent();
    assertThat(finished.stream().filter(id -> bounded.get(id).isPresent()))
        .containsExactly(finished.get(3), finished.get(4));
  }
}
