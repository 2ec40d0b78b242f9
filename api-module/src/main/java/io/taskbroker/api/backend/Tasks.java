package io.taskbroker.api.backend;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.common.InvalidJobException;
import io.taskbroker.common.Json;
import java.util.LinkedHashMap;
import java.util.Map;

/** Splits a task dict into its plugin name ({@code type}) and payload (everything else). */
final class Tasks {
  static final String TYPE = "type";

  private Tasks() {}

  static String type(Map<String, ?> task) {
    if (task == null) {
      throw new InvalidJobException("task must not be null");
    }
    Object type = task.get(TYPE);
    if (!(type instanceof String name) || name.isBlank()) {
      throw new InvalidJobException(
          "task must have a non-empty string 'type' naming its plugin, got " + type);
    }
    return name;
  }

  static ObjectNode payload(Map<String, ?> task) {
    Map<String, Object> rest = new LinkedHashMap<>(task);
    rest.remove(TYPE);
    return Json.fromMap(rest);
  }

  /** The dict an executor sees: the payload plus its type. */
  static Map<String, Object> asTask(String type, ObjectNode payload) {
    Map<String, Object> task = new LinkedHashMap<>(Json.toMap(payload));
    task.put(TYPE, type);
    return task;
  }
}
