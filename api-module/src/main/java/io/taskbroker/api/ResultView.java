package io.taskbroker.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What became of a job, in the shape callers show to people: {@code {status: success, data}},
 * {@code {status: error, error}}, {@code {status: cancelled}}, or {@code {status: pending}} /
 * {@code {status: running}} while it is not finished. Immutable.
 */
public sealed interface ResultView {
  /** The view as a JSON-ready map, keys in the documented order. */
  Map<String, Object> toMap();

  default ObjectNode toJson() {
    return (ObjectNode) Json.toTree(toMap());
  }

  record Success(JsonNode data) implements ResultView {
    @Override
    public Map<String, Object> toMap() {
      Map<String, Object> map = new LinkedHashMap<>();
      map.put("status", "success");
      map.put("data", data);
      return map;
    }
  }

  record Error(String error) implements ResultView {
    @Override
    public Map<String, Object> toMap() {
      Map<String, Object> map = new LinkedHashMap<>();
      map.put("status", "error");
      map.put("error", error);
      return map;
    }
  }

  record Cancelled() implements ResultView {
    @Override
    public Map<String, Object> toMap() {
      return Map.of("status", "cancelled");
    }
  }

  /** Not finished yet: pending or running. */
  record Unfinished(JobStatus status) implements ResultView {
    @Override
    public Map<String, Object> toMap() {
      return Map.of("status", status.dbValue());
    }
  }

  static ResultView of(JobStatus status, JsonNode result, String error) {
    return switch (status) {
      case COMPLETED -> new Success(result);
      case FAILED -> new Error(error == null ? "failed" : error);
      case CANCELLED -> new Cancelled();
      case PENDING, RUNNING -> new Unfinished(status);
    };
  }

  static ResultView of(Job job) {
    return of(job.status(), job.result(), job.error());
  }
}
