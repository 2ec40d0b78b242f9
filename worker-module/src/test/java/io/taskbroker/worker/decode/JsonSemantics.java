package io.taskbroker.worker.decode;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Compares a decoded {@link JsonNode} with an expected value built without Jackson: {@code
 * Map<String, ?>} for objects, {@code List<?>} for arrays, {@link BigDecimal} for numbers (equal by
 * {@code compareTo}, as jsonb keeps the value, not the spelling), {@link String} compared exactly,
 * {@link Boolean}, and {@link #NULL}. Stateless.
 */
final class JsonSemantics {
  /** The expected JSON null. */
  static final Object NULL = new Object();

  private JsonSemantics() {}

  /** Null when equal; otherwise the path of the first difference and what differs. */
  static String difference(Object expected, JsonNode actual) {
    return difference("$", expected, actual);
  }

  private static String difference(String path, Object expected, JsonNode actual) {
    if (actual == null) {
      return path + ": missing";
    }
    if (expected == NULL) {
      return actual.isNull() ? null : path + ": expected null, got " + actual.getNodeType();
    }
    if (expected instanceof Boolean bool) {
      return actual.isBoolean() && actual.booleanValue() == bool
          ? null
          : path + ": expected " + bool + ", got " + actual.getNodeType();
    }
    if (expected instanceof BigDecimal number) {
      if (!actual.isNumber()) {
        return path + ": expected the number " + number + ", got " + actual.getNodeType();
      }
      return actual.decimalValue().compareTo(number) == 0
          ? null
          : path + ": expected " + number + ", got " + actual.decimalValue();
    }
    if (expected instanceof String text) {
      if (!actual.isTextual()) {
        return path + ": expected a string, got " + actual.getNodeType();
      }
      return text.equals(actual.textValue())
          ? null
          : path
              + ": strings differ: expected "
              + codePoints(text)
              + " got "
              + codePoints(actual.textValue());
    }
    if (expected instanceof List<?> list) {
      if (!actual.isArray() || actual.size() != list.size()) {
        return path + ": expected an array of " + list.size() + ", got " + actual;
      }
      for (int i = 0; i < list.size(); i++) {
        String found = difference(path + "[" + i + "]", list.get(i), actual.get(i));
        if (found != null) {
          return found;
        }
      }
      return null;
    }
    Map<?, ?> map = (Map<?, ?>) expected;
    if (!actual.isObject() || actual.size() != map.size()) {
      return path + ": expected an object of " + map.size() + " members, got " + actual.size();
    }
    for (Map.Entry<?, ?> member : map.entrySet()) {
      String name = (String) member.getKey();
      String found = difference(path + "." + name, member.getValue(), actual.get(name));
      if (found != null) {
        return found;
      }
    }
    return null;
  }

  private static String codePoints(String text) {
    List<String> points = new ArrayList<>();
    Iterator<Integer> it = text.codePoints().limit(40).iterator();
    while (it.hasNext()) {
      points.add(Integer.toHexString(it.next()));
    }
    return points + (text.length() > 40 ? "... (" + text.length() + " chars)" : "");
  }
}
