package io.taskbroker.common;

import java.time.Duration;

/** One row of {@code taskbroker.queue_stats}: the jobs of one queue by state. Immutable. */
public record QueueStats(
    String queue,
    long pending,
    long scheduled,
    long running,
    long completed,
    long failed,
    long cancelled,
    Duration oldestPendingAge) {}
