package io.taskbroker.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.common.Json;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Median, min and max of one figure across repeated runs. Stateless. */
final class Aggregate {
  private Aggregate() {}

  /**
   * @param pointer a JSON pointer into each run, e.g. {@code /idle/p50_ms}
   * @return {@code {median, min, max, n}} over the runs that have the figure and succeeded; an
   *     object with {@code n = 0} when none has
   */
  static ObjectNode of(List<? extends JsonNode> runs, String pointer) {
    List<Double> values = new ArrayList<>();
    for (JsonNode run : runs) {
      JsonNode value = run.at(pointer);
      if (run.path("ok").asBoolean(false) && value.isNumber()) {
        values.add(value.asDouble());
      }
    }
    ObjectNode json = Json.object();
    json.put("n", values.size());
    if (values.isEmpty()) {
      return json;
    }
    Collections.sort(values);
    int size = values.size();
    double median =
        size % 2 == 1
            ? values.get(size / 2)
            : (values.get(size / 2 - 1) + values.get(size / 2)) / 2;
    json.put("median", round(median));
    json.put("min", round(values.get(0)));
    json.put("max", round(values.get(size - 1)));
    return json;
  }

  static double round(double value) {
    return Math.round(value * 1000) / 1000.0;
  }
}
