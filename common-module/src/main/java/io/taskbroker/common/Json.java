package io.taskbroker.common;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;

/**
 * The one JSON codec of taskbroker. Thread-safe: Jackson's mapper is safe to share once configured,
 * and nothing here configures it afterwards.
 *
 * <p>Its limits are PostgreSQL's: whatever a {@code jsonb} column can hold, this codec reads back
 * exactly (numbers as {@link BigDecimal}/{@link BigInteger}, never through {@code double}; strings
 * of any length), except nesting deeper than {@link #MAX_DEPTH}. What PostgreSQL cannot store (a
 * lone surrogate, NUL, a number outside {@code numeric}) or no worker could read is refused at
 * submit by {@link #requireStorable}, naming the value, instead of being changed on the way.
 */
public final class Json {
  /**
   * Deepest nesting of arrays and objects a payload, metadata or result may have. PostgreSQL 15
   * accepts deeper jsonb (13,086 levels measured at the default {@code max_stack_depth} of 2 MB),
   * but the JVM cannot use it: Jackson writes trees recursively and overflowed a default 1 MB
   * thread stack at 13,100 levels (5,000 passed), and {@code JsonNode.toString()}, which plugins
   * call, refuses more than 1,000. A deeper document is refused at submit; one inserted with SQL
   * fails its own job as undecodable.
   */
  public static final int MAX_DEPTH = 1_000;

  /**
   * Longest JSON text of a payload or of metadata accepted at submit, in characters (16 Mi). A
   * bound on what one job costs every worker that claims it; PostgreSQL itself would take up to
   * about 256 MB per string and 1 GB per value.
   */
  public static final int MAX_DOCUMENT_CHARS = 16 * 1024 * 1024;

  /** PostgreSQL {@code numeric}: up to 131,072 digits before the decimal point. */
  public static final int MAX_NUMERIC_INTEGER_DIGITS = 131_072;

  /** PostgreSQL {@code numeric}: up to 16,383 digits after the decimal point. */
  public static final int MAX_NUMERIC_FRACTION_DIGITS = 16_383;

  // The longest number PostgreSQL prints: sign, every integer digit, point, every fraction digit.
  private static final int MAX_NUMBER_CHARS =
      MAX_NUMERIC_INTEGER_DIGITS + MAX_NUMERIC_FRACTION_DIGITS + 2;

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private static final ObjectMapper MAPPER = newMapper();

  private static ObjectMapper newMapper() {
    JsonFactory factory =
        JsonFactory.builder()
            // Jackson's defaults (20 M chars per string, 50 k per name, 1,000 digits per number)
            // are lower than what jsonb holds: one such row failed every read that included it.
            .streamReadConstraints(
                StreamReadConstraints.builder()
                    .maxNestingDepth(MAX_DEPTH)
                    .maxStringLength(Integer.MAX_VALUE)
                    .maxNameLength(Integer.MAX_VALUE)
                    .maxNumberLength(MAX_NUMBER_CHARS)
                    .maxDocumentLength(-1)
                    .build())
            .streamWriteConstraints(
                StreamWriteConstraints.builder().maxNestingDepth(MAX_DEPTH).build())
            // new BigDecimal(String) is quadratic in the digits: 150,000 of them took seconds.
            .enable(StreamReadFeature.USE_FAST_BIG_NUMBER_PARSER)
            .build();
    ObjectMapper mapper =
        JsonMapper.builder(factory)
            .nodeFactory(NODES)
            // Through double, 0.1000000000000000000001 arrived as 0.1, 1e-400 as 0.0 and 1.5e400
            // as the string "Infinity".
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            // Exact decimals: 1.50 stays 1.50 rather than 1.5.
            .disable(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();
    mapper.registerModule(new JavaTimeModule());
    return mapper;
  }

  private Json() {}

  public static ObjectMapper mapper() {
    return MAPPER;
  }

  public static ObjectNode object() {
    return NODES.objectNode();
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

  /**
   * Parses JSON text that PostgreSQL produced from a jsonb column. Such text is valid JSON, so a
   * failure is a limit of this JVM (nesting deeper than {@link #MAX_DEPTH}).
   *
   * @throws InvalidJobException saying why the text cannot be decoded here
   */
  public static JsonNode parseStored(String text) {
    try {
      return MAPPER.readTree(text);
    } catch (JsonProcessingException e) {
      throw new InvalidJobException(describe(e), e);
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

  /**
   * Writes a document bound for a jsonb column after checking that PostgreSQL stores it unchanged
   * and a worker can read it back.
   *
   * @param what names the document in the error ("payload", "metadata")
   * @throws InvalidJobException naming the first value that would not survive, and why
   */
  public static String writeStorable(JsonNode node, String what) {
    requireStorable(node, what);
    String text = write(node);
    if (text.length() > MAX_DOCUMENT_CHARS) {
      throw new InvalidJobException(
          what
              + " is "
              + text.length()
              + " characters of JSON, over the limit of "
              + MAX_DOCUMENT_CHARS);
    }
    return text;
  }

  /**
   * Checks that PostgreSQL stores this document as it is and a worker can read it back: nesting at
   * most {@link #MAX_DEPTH}, no lone surrogate and no NUL in any string or name (jsonb refuses
   * both; the driver used to turn a lone surrogate into '?'), finite numbers within {@code
   * numeric}'s range. Walks the tree without recursion, so any depth is safe to check.
   *
   * @throws InvalidJobException naming the path of the first bad value
   */
  public static void requireStorable(JsonNode node, String what) {
    record Frame(String path, JsonNode node, int depth) {}
    Deque<Frame> todo = new ArrayDeque<>();
    todo.push(new Frame(what, node, 0));
    while (!todo.isEmpty()) {
      Frame frame = todo.pop();
      JsonNode value = frame.node();
      String path = frame.path();
      if (value.isContainerNode()) {
        int depth = frame.depth() + 1;
        if (depth > MAX_DEPTH) {
          throw new InvalidJobException(
              what + " nests deeper than " + MAX_DEPTH + " levels (at " + path + ")");
        }
        if (value.isObject()) {
          for (Map.Entry<String, JsonNode> field : value.properties()) {
            String name = field.getKey();
            requireStorableText(name, path, "the name " + quoteShort(name));
            todo.push(new Frame(path + "." + name, field.getValue(), depth));
          }
        } else {
          for (int i = value.size() - 1; i >= 0; i--) {
            todo.push(new Frame(path + "[" + i + "]", value.get(i), depth));
          }
        }
      } else if (value.isTextual()) {
        requireStorableText(value.textValue(), path, "the string");
      } else if (value.isNumber()) {
        requireStorableNumber(value, path);
      }
    }
  }

  private static void requireStorableText(String text, String path, String which) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '\u0000') {
        throw new InvalidJobException(
            path
                + ": "
                + which
                + " has a NUL character (\\u0000) at index "
                + i
                + "; PostgreSQL cannot store it in jsonb");
      }
      if (Character.isHighSurrogate(c)
          && i + 1 < text.length()
          && Character.isLowSurrogate(text.charAt(i + 1))) {
        i++;
        continue;
      }
      if (Character.isSurrogate(c)) {
        throw new InvalidJobException(
            String.format(
                "%s: %s has a lone surrogate U+%04X at index %d, which is not Unicode text;"
                    + " PostgreSQL cannot store it",
                path, which, (int) c, i));
      }
    }
  }

  private static void requireStorableNumber(JsonNode value, String path) {
    if ((value.isDouble() || value.isFloat()) && !Double.isFinite(value.doubleValue())) {
      throw new InvalidJobException(
          path + " is " + value.doubleValue() + ", which JSON cannot represent as a number");
    }
    if (value.isIntegralNumber() && !(value.isBigInteger() || value.isBigDecimal())) {
      return;
    }
    BigDecimal number = value.decimalValue();
    int fraction = Math.max(0, number.scale());
    int integer = Math.max(0, number.precision() - number.scale());
    if (integer > MAX_NUMERIC_INTEGER_DIGITS || fraction > MAX_NUMERIC_FRACTION_DIGITS) {
      throw new InvalidJobException(
          path
              + " is a number with "
              + integer
              + " digits before and "
              + fraction
              + " after the decimal point; PostgreSQL stores at most "
              + MAX_NUMERIC_INTEGER_DIGITS
              + " and "
              + MAX_NUMERIC_FRACTION_DIGITS);
    }
  }

  private static String quoteShort(String text) {
    return "'" + (text.length() > 40 ? text.substring(0, 40) + "..." : text) + "'";
  }
}
