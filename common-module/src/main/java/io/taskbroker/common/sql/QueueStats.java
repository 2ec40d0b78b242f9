package io.taskbroker.common.sql;

import java.time.Duration;

/** One row of {@code taskbroker.queue_stats}. */
public record QueueStats(
    String queue,
    long pending,
    long scheduled,
    long running,
    long completed,
    long failed,
    long cancelled,
    Duration oldestPendingAge) {}
