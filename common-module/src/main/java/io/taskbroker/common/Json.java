package io.taskbroker.common;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.util.Map;

/**
 * The one JSON codec of taskbroker. Thread-safe: Jackson's mapper is safe to share once configured,
 * and nothing here configures it afterwards.
 */
public final class Json {
  private static final ObjectMapper MAPPER =
      new ObjectMapper()
          .registerModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  private Json() {}

  public static ObjectMapper mapper() {
    return MAPPER;
  }

  public static ObjectNode object() {
    return JsonNodeFactory.instance.objectNode();
  }

  /**
   * Parses text that must be a JSON document.
   *
   * @throws InvalidJobException naming what is wrong, for text that is not JSON
   */
  public static JsonNode parse(String text) {
    if (text == null) {
      throw new InvalidJobException("expected JSON, got nothing");
    }
    try {
      return MAPPER.readTree(text);
    } catch (JsonProcessingException e) {
      throw new InvalidJobException("not valid JSON: " + describe(e), e);
    }
  }

  /** Jackson's reason without its source dump, plus where in the text it went wrong. */
  private static String describe(JsonProcessingException e) {
    String reason = e.getOriginalMessage();
    int cut = reason.indexOf(" (start marker at");
    if (cut < 0) {
      cut = reason.indexOf("\n at [Source");
    }
    if (cut >= 0) {
      reason = reason.substring(0, cut);
    }
    var location = e.getLocation();
    if (location != null && location.getLineNr() > 0) {
      reason += " (line " + location.getLineNr() + ", column " + location.getColumnNr() + ")";
    }
    return reason;
  }

  /**
   * Parses text that must be a JSON object ({@code {...}}).
   *
   * @param what names the value in the error message ("payload", "metadata")
   */
  public static ObjectNode parseObject(String text, String what) {
    JsonNode node;
    try {
      node = parse(text);
    } catch (InvalidJobException e) {
      throw new InvalidJobException(what + " is " + e.getMessage(), e);
    }
    return requireObject(node, what);
  }

  /** Returns the node as an object, or throws naming the JSON type it has instead. */
  public static ObjectNode requireObject(JsonNode node, String what) {
    if (node instanceof ObjectNode object) {
      return object;
    }
    String type = node == null || node.isMissingNode() ? "missing" : node.getNodeType().name();
    throw new InvalidJobException(
        what + " must be a JSON object, got " + type.toLowerCase(java.util.Locale.ROOT));
  }

  public static String write(Object value) {
    try {
      return MAPPER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new InvalidJobException("cannot write as JSON: " + e.getOriginalMessage(), e);
    }
  }

  public static JsonNode toTree(Object value) {
    try {
      return MAPPER.valueToTree(value);
    } catch (IllegalArgumentException e) {
      throw new InvalidJobException("cannot convert to JSON: " + e.getMessage(), e);
    }
  }

  /** An object node from a map; throws when a value is not representable in JSON. */
  public static ObjectNode fromMap(Map<String, ?> map) {
    return requireObject(toTree(map), "value");
  }

  @SuppressWarnings("unchecked")
  public static Map<String, Object> toMap(JsonNode node) {
    return MAPPER.convertValue(node, Map.class);
  }
}
