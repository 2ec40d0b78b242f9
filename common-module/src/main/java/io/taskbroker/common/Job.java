package io.taskbroker.common;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.UUID;

/**
 * One row of {@code taskbroker.jobs}, as read at one moment. Immutable.
 *
 * @param payload null (like metadata, result and error; errors then empty) when the row was listed
 *     without bodies ({@link JobQuery#bodies()}), or claimed by a worker (whose claim leaves out
 *     the attempt history: result, error and errors)
 * @param errors one object per failed attempt: {@code {attempt, at, worker_id, kind, error}}
 * @param concurrencyKey the key of the queue's per-key concurrency limit; null for none
 * @param decodeError null when every column was read; otherwise which JSON columns this JVM could
 *     not decode and why (say, nested deeper than {@link Json#MAX_DEPTH}). Those columns hold
 *     placeholders: an empty object for payload and metadata, an empty array for errors, null for
 *     result. A worker fails such a job at once (error kind {@code undecodable}) without running
 *     it; a reader sees this one row marked, and every other row as usual.
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
    Instant cancelRequestedAt,
    String concurrencyKey,
    String decodeError) {

  /** Whether every column of the row was decoded (see {@link #decodeError()}). */
  public boolean isDecoded() {
    return decodeError == null;
  }

  public boolean isFinished() {
    return status.isFinal();
  }
}
