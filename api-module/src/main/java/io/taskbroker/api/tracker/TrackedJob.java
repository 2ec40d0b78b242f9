package io.taskbroker.api.tracker;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.api.ResultView;
import io.taskbroker.common.JobStatus;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * A job as the tracker sees it: a plugin name, the file it works on, free metadata, its status,
 * timestamps, and its result or error. Immutable; a new value for every change.
 */
public record TrackedJob(
    UUID id,
    String pluginName,
    String filePath,
    String fileName,
    ObjectNode metadata,
    JobStatus status,
    Instant createdAt,
    Instant startedAt,
    Instant completedAt,
    JsonNode result,
    String error) {

  public ResultView resultView() {
    return ResultView.of(status, result, error);
  }

  /** The job as a JSON-ready map with ISO-8601 timestamps (null when not reached). */
  public Map<String, Object> toMap() {
    Map<String, Object> map = new LinkedHashMap<>();
    map.put("id", id.toString());
    map.put("plugin_name", pluginName);
    map.put("file_path", filePath);
    map.put("file_name", fileName);
    map.put("metadata", metadata);
    map.put("status", status.dbValue());
    map.put("created_at", iso(createdAt));
    map.put("started_at", iso(startedAt));
    map.put("completed_at", iso(completedAt));
    map.put("result", result);
    map.put("error", error);
    return map;
  }

  private static String iso(Instant instant) {
    return instant == null ? null : instant.toString();
  }
}
