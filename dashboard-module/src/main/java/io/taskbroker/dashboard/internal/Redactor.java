package io.taskbroker.dashboard.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Replaces the values of sensitive keys, at any depth, before a payload or metadata document leaves
 * the process. Works on a copy. Immutable; thread-safe.
 */
public final class Redactor {
  public static final TextNode REDACTED = TextNode.valueOf("[redacted]");
  private final Set<String> keys;

  public Redactor(Set<String> lowerCaseKeys) {
    this.keys = Set.copyOf(lowerCaseKeys);
  }

  public JsonNode redact(JsonNode node) {
    if (node == null || keys.isEmpty()) {
      return node;
    }
    JsonNode copy = node.deepCopy();
    walk(copy);
    return copy;
  }

  private void walk(JsonNode node) {
    if (node instanceof ObjectNode object) {
      for (Map.Entry<String, JsonNode> field : object.properties()) {
        if (keys.contains(field.getKey().toLowerCase(Locale.ROOT))) {
          field.setValue(REDACTED);
        } else {
          walk(field.getValue());
        }
      }
    } else if (node instanceof ArrayNode array) {
      array.forEach(this::walk);
    }
  }
}
