package io.taskbroker.cli.internal;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.common.Job;
import java.util.LinkedHashMap;
import java.util.Map;

/** A job as the command line shows it in JSON: snake_case keys, as in the table. Stateless. */
public final class JobViews {
  private JobViews() {}

  /** Every column of the job, keys in a stable order. */
  public static Map<String, Object> toJson(Job job) {
    Map<String, Object> map = new LinkedHashMap<>();
    map.put("id", job.id().toString());
    map.put("plugin", job.plugin());
    map.put("queue", job.queue());
    map.put("status", job.status().dbValue());
    map.put("priority", job.priority());
    map.put("attempt", job.attempt());
    map.put("max_attempts", job.maxAttempts());
    map.put("run_at", Times.iso(job.runAt()));
    map.put("created_at", Times.iso(job.createdAt()));
    map.put("started_at", Times.iso(job.startedAt()));
    map.put("completed_at", Times.iso(job.completedAt()));
    map.put("worker_id", job.workerId());
    map.put("heartbeat_at", Times.iso(job.heartbeatAt()));
    map.put("lease_expires_at", Times.iso(job.leaseExpiresAt()));
    map.put("progress", job.progress());
    map.put("progress_message", job.progressMessage());
    map.put("timeout_ms", job.timeoutMs());
    map.put("unique_key", job.uniqueKey());
    map.put("cancel_requested_at", Times.iso(job.cancelRequestedAt()));
    map.put("payload", job.payload());
    map.put("metadata", job.metadata());
    map.put("result", job.result());
    map.put("error", job.error());
    map.put("errors", job.errors());
    return map;
  }

  /** {@code 1/3}: the attempt and the most attempts. */
  public static String attempts(Job job) {
    return job.attempt() + "/" + job.maxAttempts();
  }

  /** {@code 40% segment 2 of 5}, or null when the job never reported progress. */
  public static String progress(Job job) {
    if (job.progress() == null && job.progressMessage() == null) {
      return null;
    }
    String percent = job.progress() == null ? "" : Math.round(job.progress() * 100) + "%";
    String message = job.progressMessage() == null ? "" : " " + job.progressMessage();
    return (percent + message).strip();
  }

  /** Text of a JSON value for one line: strings without quotes, the rest as JSON. */
  public static String text(JsonNode node) {
    if (node == null || node.isNull() || node.isMissingNode()) {
      return null;
    }
    return node.isTextual() ? node.asText() : node.toString();
  }
}
