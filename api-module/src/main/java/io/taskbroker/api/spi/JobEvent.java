package io.taskbroker.api.spi;

import java.time.Instant;
import java.util.UUID;

/**
 * One job as a {@link JobLifecycleListener} sees it at an event: which job, where it runs and which
 * attempt. Immutable.
 *
 * @param runAt when the job became runnable (for the queue latency)
 * @param workerId the worker that holds the attempt
 */
public record JobEvent(
    UUID jobId,
    String queue,
    String plugin,
    int attempt,
    int maxAttempts,
    Instant runAt,
    String workerId) {}
