package io.taskbroker.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskbroker.common.InvalidConfigException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class WorkerConfigTest {

  private static void assertRejected(UnaryOperator<WorkerConfig.Builder> change, String... words) {
    assertThatThrownBy(() -> change.apply(WorkerConfig.builder()).build())
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContainingAll(words);
  }

  @Test
  void defaultsServeTheDefaultQueueWithAHeartbeatOfAFifthOfTheLease() {
    WorkerConfig config = WorkerConfig.builder().build();

    assertThat(config.queues()).containsExactly(Map.entry("default", 10));
    assertThat(config.totalConcurrency()).isEqualTo(10);
    assertThat(config.lease()).isEqualTo(Duration.ofSeconds(15));
    assertThat(config.heartbeatInterval()).isEqualTo(Duration.ofSeconds(3));
    assertThat(config.workerId()).isNotBlank();
    assertThat(config.retention()).isEqualTo(WorkerConfig.DEFAULT_RETENTION);
    assertThat(config.rescuerEnabled()).isTrue();
  }

  @Test
  void prefetchDefaultsToTheClaimBatchAndAnExplicitValueIsKept() {
    assertThat(WorkerConfig.builder().maxClaimBatch(100).build().prefetchLimit()).isEqualTo(100);
    assertThat(WorkerConfig.builder().maxClaimBatch(100).prefetch(3).build().prefetchLimit())
        .isEqualTo(3);
    assertThat(WorkerConfig.builder().prefetch(0).build().prefetchLimit()).isZero();
    assertRejected(b -> b.prefetch(-2), "prefetch", "got -2");
    assertThat(WorkerConfig.builder().build().prefetchMaxWait())
        .isEqualTo(WorkerConfig.DEFAULT_PREFETCH_MAX_WAIT);
    assertRejected(b -> b.prefetchMaxWait(Duration.ZERO), "prefetch max wait", "PT0S");
    assertRejected(b -> b.prefetchMaxWait(null), "prefetch max wait", "null");
  }

  @Test
  void generatedWorkerIdsAreUnique() {
    assertThat(WorkerConfig.builder().build().workerId())
        .isNotEqualTo(WorkerConfig.builder().build().workerId());
  }

  @Test
  void queuesAndConcurrencyAreKept() {
    Map<String, Integer> queues = new LinkedHashMap<>();
    queues.put("mail", 2);
    queues.put("video", 5);

    WorkerConfig config = WorkerConfig.builder().queues(queues).build();
    assertThat(config.queues()).isEqualTo(queues);
    assertThat(config.totalConcurrency()).isEqualTo(7);

    WorkerConfig same = WorkerConfig.builder().queues(queues).concurrency(3).build();
    assertThat(same.queues()).containsOnly(Map.entry("mail", 3), Map.entry("video", 3));
  }

  @Test
  void badQueuesAreRejectedNamingTheValue() {
    assertRejected(b -> b.queues(Map.of()), "at least one queue");
    assertRejected(b -> b.queue(" ", 1), "queue name", "' '");
    assertRejected(b -> b.queue("x".repeat(129), 1), "queue name");
    assertRejected(b -> b.queue("mail", 0), "concurrency", "'mail'", "got 0");
    assertRejected(b -> b.queue("mail", 10_001), "concurrency", "got 10001");
  }

  @Test
  void badIntervalsAreRejectedNamingTheValue() {
    assertRejected(b -> b.pollInterval(Duration.ofMillis(5)), "poll interval", "PT0.005S");
    assertRejected(b -> b.pollInterval(null), "poll interval", "null");
    assertRejected(b -> b.lease(Duration.ofMillis(100)), "lease", "PT0.1S");
    assertRejected(
        b -> b.lease(Duration.ofSeconds(2)).heartbeatInterval(Duration.ofMillis(1500)),
        "heartbeat interval",
        "PT1.5S",
        "half the lease");
    assertRejected(b -> b.heartbeatInterval(Duration.ofMillis(10)), "heartbeat", "PT0.01S");
    assertRejected(b -> b.rescueInterval(Duration.ofMillis(-1)), "rescue interval", "-0.001S");
    assertRejected(b -> b.drainTimeout(Duration.ofSeconds(-1)), "drain timeout", "PT-1S");
    assertRejected(b -> b.defaultTimeout(Duration.ZERO), "default timeout", "PT0S");
    assertRejected(b -> b.pruneInterval(Duration.ofMillis(1)), "prune interval", "PT0.001S");
    assertRejected(b -> b.retention(Duration.ofSeconds(-5)), "retention", "PT-5S");
  }

  @Test
  void badBatchesAndRetriesAreRejectedNamingTheValue() {
    assertRejected(b -> b.maxClaimBatch(0), "max claim batch", "got 0");
    assertRejected(b -> b.completerBatch(20_000), "completer batch", "got 20000");
    assertRejected(
        b -> b.retryBaseDelay(Duration.ofSeconds(10)).retryMaxDelay(Duration.ofSeconds(1)),
        "retry max delay",
        "PT1S",
        "PT10S");
    assertRejected(b -> b.retryBaseDelay(Duration.ofMillis(-1)), "retry base delay");
    assertRejected(b -> b.completerRetryLimit(null), "completer retry limit", "null");
  }

  @Test
  void zeroDrainAndNoRetentionAreAllowed() {
    WorkerConfig config =
        WorkerConfig.builder().drainTimeout(Duration.ZERO).retention(null).build();

    assertThat(config.drainTimeout()).isZero();
    assertThat(config.retention()).isNull();
  }

  @Test
  void theResultSizeLimitDefaultsTo16MibAndMustBePositiveAndFitJsonb() {
    assertThat(WorkerConfig.builder().build().maxResultBytes()).isEqualTo(16L * 1024 * 1024);
    assertThat(WorkerConfig.builder().maxResultBytes(1).build().maxResultBytes()).isEqualTo(1);
    assertRejected(b -> b.maxResultBytes(0), "max result bytes", "got 0");
    assertRejected(b -> b.maxResultBytes(1L << 28), "max result bytes", "got 268435456");
  }

  @Test
  void theCanonicalConstructorChecksWhatTheBuilderChecks() {
    WorkerConfig valid = WorkerConfig.builder().workerId("w1").build();
    // The same values through the positional constructor, with one of them bad each time.
    assertThatThrownBy(
            () ->
                new WorkerConfig(
                    valid.workerId(),
                    valid.queues(),
                    valid.pollInterval(),
                    Duration.ofSeconds(2),
                    Duration.ofSeconds(3),
                    valid.rescueInterval(),
                    valid.drainTimeout(),
                    valid.defaultTimeout(),
                    valid.maxClaimBatch(),
                    valid.completerBatch(),
                    valid.retryBaseDelay(),
                    valid.retryMaxDelay(),
                    valid.completerRetryLimit(),
                    valid.retention(),
                    valid.pruneInterval(),
                    valid.historyAfter(),
                    valid.rescuerEnabled(),
                    valid.clock(),
                    valid.maxResultBytes(),
                    valid.listeners(),
                    valid.schedules(),
                    valid.schedulerInterval(),
                    valid.prefetch(),
                    valid.prefetchMaxWait()))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContainingAll("heartbeat interval", "PT3S", "half the lease", "PT2S");
    assertThatThrownBy(
            () ->
                new WorkerConfig(
                    " ",
                    Map.of("mail", 0),
                    valid.pollInterval(),
                    valid.lease(),
                    valid.heartbeatInterval(),
                    valid.rescueInterval(),
                    valid.drainTimeout(),
                    valid.defaultTimeout(),
                    valid.maxClaimBatch(),
                    valid.completerBatch(),
                    valid.retryBaseDelay(),
                    valid.retryMaxDelay(),
                    valid.completerRetryLimit(),
                    valid.retention(),
                    valid.pruneInterval(),
                    valid.historyAfter(),
                    valid.rescuerEnabled(),
                    valid.clock(),
                    valid.maxResultBytes(),
                    valid.listeners(),
                    valid.schedules(),
                    valid.schedulerInterval(),
                    valid.prefetch(),
                    valid.prefetchMaxWait()))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContainingAll("worker id", "' '");
    assertThatThrownBy(
            () ->
                new WorkerConfig(
                    valid.workerId(),
                    valid.queues(),
                    valid.pollInterval(),
                    valid.lease(),
                    null,
                    valid.rescueInterval(),
                    valid.drainTimeout(),
                    valid.defaultTimeout(),
                    valid.maxClaimBatch(),
                    valid.completerBatch(),
                    valid.retryBaseDelay(),
                    valid.retryMaxDelay(),
                    valid.completerRetryLimit(),
                    valid.retention(),
                    valid.pruneInterval(),
                    valid.historyAfter(),
                    valid.rescuerEnabled(),
                    null,
                    valid.maxResultBytes(),
                    valid.listeners(),
                    valid.schedules(),
                    valid.schedulerInterval(),
                    valid.prefetch(),
                    valid.prefetchMaxWait()))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContainingAll("heartbeat interval", "null");
  }

  @Test
  void theQueuesAreCopiedBeforeTheyAreChecked() {
    Map<String, Integer> queues = new LinkedHashMap<>(Map.of("mail", 2));
    WorkerConfig config = WorkerConfig.builder().queues(queues).build();
    queues.put("mail", 0);

    assertThat(config.queues()).containsExactly(Map.entry("mail", 2));
  }
}
