package io.taskbroker.common;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.UUID;

/**
 * One row of {@code taskbroker.jobs}, as read at one moment. Immutable.
 *
 * @param errors one object per failed attempt: {@code {attempt, at, worker_id, kind, error}}
 */
public record Job(
    UUID id,
    String queue,
    String plugin,
    ObjectNode payload,
    ObjectNode metadata,
    JobStatus status,
    int priority,
    Instant runAt,
    int attempt,
    int maxAttempts,
    Integer timeoutMs,
    Instant createdAt,
    Instant startedAt,
    Instant completedAt,
    String workerId,
    Instant heartbeatAt,
    Instant leaseExpiresAt,
    Float progress,
    String progressMessage,
    JsonNode result,
    String error,
    JsonNode errors,
    String uniqueKey,
    Instant cancelRequestedAt) {

  public boolean isFinished() {
    return status.isFinal();
  }
}
