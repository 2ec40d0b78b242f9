package io.taskbroker.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Validation of jobs and statuses before anything reaches the database. Pure unit tests. */
class NewJobTest {

  @Test
  void jobWithOnlyAPluginGetsEveryDefault() {
    NewJob job = NewJob.of("echo", Map.of("x", 1));

    assertThat(job.plugin()).isEqualTo("echo");
    assertThat(job.payload().get("x").asInt()).isEqualTo(1);
    assertThat(job.queue()).isEqualTo(NewJob.DEFAULT_QUEUE);
    assertThat(job.priority()).isZero();
    assertThat(job.maxAttempts()).isEqualTo(NewJob.DEFAULT_MAX_ATTEMPTS);
    assertThat(job.metadata().isEmpty()).isTrue();
    assertThat(job.runAt()).isNull();
    assertThat(job.delay()).isNull();
    assertThat(job.uniqueKey()).isNull();
  }

  @Test
  void payloadThatIsNotAJsonObjectIsRefused() {
    assertThatThrownBy(() -> NewJob.builder("echo").payloadJson("[1]"))
        .isInstanceOf(InvalidJobException.class)
        .hasMessage("payload must be a JSON object, got array");
  }

  @Test
  void payloadThatIsNotJsonIsRefused() {
    assertThatThrownBy(() -> NewJob.builder("echo").payloadJson("{oops"))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageStartingWith("payload is not valid JSON");
  }

  @Test
  void metadataThatIsNotAnObjectIsRefused() {
    assertThatThrownBy(
            () ->
                NewJob.builder("echo")
                    .metadata(Json.mapper().getNodeFactory().textNode("text"))
                    .build())
        .isInstanceOf(InvalidJobException.class)
        .hasMessage("metadata must be a JSON object, got string");
  }

  @Test
  void emptyOrBlankPluginNameIsRefused() {
    for (String plugin : new String[] {null, "", "   "}) {
      assertThatThrownBy(() -> NewJob.builder(plugin).build())
          .isInstanceOf(InvalidJobException.class)
          .hasMessage("plugin name must not be empty");
    }
  }

  @Test
  void zeroNegativeOrHugeMaxAttemptsIsRefusedNamingTheValue() {
    for (int bad : new int[] {0, -1, 1001}) {
      assertThatThrownBy(() -> NewJob.builder("echo").maxAttempts(bad).build())
          .isInstanceOf(InvalidJobException.class)
          .hasMessageContaining("max_attempts")
          .hasMessageEndingWith("got " + bad);
    }
  }

  @Test
  void otherBadValuesAreRefused() {
    assertThatThrownBy(() -> NewJob.builder("echo").queue("").build())
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("queue");
    assertThatThrownBy(() -> NewJob.builder("echo").priority(40_000).build())
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("40000");
    assertThatThrownBy(() -> NewJob.builder("echo").delay(Duration.ofSeconds(-1)).build())
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("delay");
    assertThatThrownBy(() -> NewJob.builder("echo").timeout(Duration.ZERO).build())
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("timeout");
    assertThatThrownBy(() -> NewJob.builder("echo").uniqueKey("").build())
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("unique key");
  }

  @Test
  void unknownStatusIsRefusedNamingTheAllowedValues() {
    assertThatThrownBy(() -> JobStatus.parse("nope"))
        .isInstanceOf(InvalidJobException.class)
        .hasMessageContaining("'nope'")
        .hasMessageContaining("pending, running, completed, failed, cancelled");
    assertThatThrownBy(() -> JobStatus.parse(null)).isInstanceOf(InvalidJobException.class);
  }

  @Test
  void statusParsesItsDatabaseValueIgnoringCaseAndSpace() {
    for (JobStatus status : JobStatus.values()) {
      assertThat(JobStatus.parse(status.dbValue())).isEqualTo(status);
    }
    assertThat(JobStatus.parse(" Completed ")).isEqualTo(JobStatus.COMPLETED);
  }

  @Test
  void onlyCompletedFailedAndCancelledAreFinal() {
    assertThat(JobStatus.PENDING.isFinal()).isFalse();
    assertThat(JobStatus.RUNNING.isFinal()).isFalse();
    assertThat(JobStatus.COMPLETED.isFinal()).isTrue();
    assertThat(JobStatus.FAILED.isFinal()).isTrue();
    assertThat(JobStatus.CANCELLED.isFinal()).isTrue();
  }
}
