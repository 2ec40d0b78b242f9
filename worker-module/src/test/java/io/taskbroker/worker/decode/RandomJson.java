package io.taskbroker.worker.decode;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Generates JSON documents as text together with the value they mean, built without any JSON
 * library, so a round trip can be checked against an independent oracle. Each document is an object
 * (a payload must be one); some are deep or wide, some carry long strings and long numbers with
 * exponents, negative zero, and Unicode edge cases; a few carry what PostgreSQL cannot store (a
 * lone surrogate, NUL) or nest deeper than a worker reads, and say so in {@link Doc#flaw()}. Not
 * thread-safe (one {@link Random}).
 */
final class RandomJson {
  /** One document: its text, the value it means, and why it cannot be stored, if it cannot. */
  record Doc(String text, Object expected, String flaw) {
    boolean valid() {
      return flaw == null;
    }
  }

  private final Random random;
  private final int maxDepth;
  private final boolean rawLoneSurrogates;
  private String flaw;
  private boolean mayBeFlawed;
  private int budget;

  /**
   * @param maxDepth the deepest nesting a worker reads; deeper documents are flawed
   * @param rawLoneSurrogates whether a lone surrogate may appear unescaped in the text (fine for a
   *     Java String; over JDBC the driver would turn it into '?' before PostgreSQL sees it)
   */
  RandomJson(Random random, int maxDepth, boolean rawLoneSurrogates) {
    this.random = random;
    this.maxDepth = maxDepth;
    this.rawLoneSurrogates = rawLoneSurrogates;
  }

  Doc next() {
    flaw = null;
    // One document in ten may carry what PostgreSQL cannot store; the rest are all valid.
    mayBeFlawed = random.nextInt(10) == 0;
    budget = 300;
    StringBuilder text = new StringBuilder();
    Object value;
    int shape = random.nextInt(100);
    if (shape < 4) {
      // A deep chain: at the limit, or just past it.
      int depth =
          random.nextBoolean() ? maxDepth - random.nextInt(3) : maxDepth + 1 + random.nextInt(50);
      value = chain(text, depth);
      if (depth > maxDepth) {
        flaw = "nests " + depth + " levels deep";
      }
    } else {
      value = object(text, 1, shape < 8 ? 40 : 8);
    }
    return new Doc(text.toString(), value, flaw);
  }

  private Object chain(StringBuilder text, int depth) {
    // Alternating objects and arrays; the root is an object.
    for (int level = 1; level <= depth; level++) {
      if (level % 2 == 1) {
        text.append("{\"k\":");
      } else {
        text.append('[');
      }
    }
    Object leaf = number(text);
    for (int level = depth; level >= 1; level--) {
      if (level % 2 == 1) {
        text.append('}');
        Map<String, Object> object = new LinkedHashMap<>();
        object.put("k", leaf);
        leaf = object;
      } else {
        text.append(']');
        leaf = List.of(leaf);
      }
    }
    return leaf;
  }

  private Object value(StringBuilder text, int depth, int width) {
    budget--;
    int kind = random.nextInt(depth > 6 || budget <= 0 ? 6 : 8);
    switch (kind) {
      case 0:
        text.append("null");
        return JsonSemantics.NULL;
      case 1:
        boolean bool = random.nextBoolean();
        text.append(bool);
        return bool;
      case 2:
      case 3:
        return number(text);
      case 4:
      case 5:
        return string(text);
      case 6:
        return array(text, depth + 1, width);
      default:
        return object(text, depth + 1, width);
    }
  }

  private Map<String, Object> object(StringBuilder text, int depth, int width) {
    Map<String, Object> object = new LinkedHashMap<>();
    text.append('{');
    int members = random.nextInt(width + 1);
    for (int i = 0; i < members; i++) {
      StringBuilder name = new StringBuilder();
      Object key = string(name);
      if (object.containsKey(key)) {
        continue; // jsonb keeps the last of duplicate names; keep names unique instead
      }
      if (!object.isEmpty()) {
        text.append(random.nextBoolean() ? "," : " ,\n ");
      }
      text.append(name).append(':');
      object.put((String) key, value(text, depth, width));
    }
    text.append('}');
    return object;
  }

  private List<Object> array(StringBuilder text, int depth, int width) {
    List<Object> array = new ArrayList<>();
    text.append('[');
    int elements = random.nextInt(width + 1);
    for (int i = 0; i < elements; i++) {
      if (i > 0) {
        text.append(',');
      }
      array.add(value(text, depth, width));
    }
    text.append(']');
    return array;
  }

  /** A JSON number: sign, integer part, fraction, exponent, up to 60 digits each. */
  private BigDecimal number(StringBuilder text) {
    StringBuilder number = new StringBuilder();
    if (random.nextInt(4) == 0) {
      number.append('-');
    }
    int style = random.nextInt(10);
    if (style == 0) {
      number.append('0'); // zero, or negative zero
    } else {
      number.append(1 + random.nextInt(9)).append(digits(random.nextInt(style < 3 ? 60 : 6)));
    }
    if (random.nextInt(3) == 0) {
      number.append('.').append(digits(1 + random.nextInt(style < 3 ? 60 : 4)));
    }
    if (random.nextInt(4) == 0) {
      number.append(random.nextBoolean() ? 'e' : 'E');
      int sign = random.nextInt(3);
      number.append(sign == 0 ? "" : sign == 1 ? "+" : "-");
      // Past double's range (±308) and its subnormals (-324), within numeric's.
      number.append(random.nextInt(random.nextBoolean() ? 20 : 1_000));
    }
    text.append(number);
    return new BigDecimal(number.toString());
  }

  private String digits(int count) {
    StringBuilder digits = new StringBuilder(count);
    for (int i = 0; i < count; i++) {
      digits.append((char) ('0' + random.nextInt(10)));
    }
    return digits.toString();
  }

  /** A JSON string, written with a mix of raw characters and escapes; returns its value. */
  private String string(StringBuilder text) {
    StringBuilder value = new StringBuilder();
    text.append('"');
    int length = random.nextInt(1_000) == 0 ? 50_000 + random.nextInt(100_000) : random.nextInt(12);
    for (int i = 0; i < length; i++) {
      int pick = length > 1_000 ? 0 : random.nextInt(40);
      switch (pick) {
        case 1 -> append(text, value, "\uD83D\uDE00", random.nextBoolean()); // astral
        case 2 -> append(text, value, "\uD834\uDD1E", true); // astral, always as two escapes
        case 3 -> append(text, value, "e\u0301", false); // combining mark
        case 4 -> append(text, value, "\uFEFF", random.nextBoolean()); // BOM
        case 5 -> append(text, value, "\u2028\u2029", random.nextBoolean());
        case 6 -> append(text, value, String.valueOf((char) (1 + random.nextInt(31))), true);
        case 12 -> {
          int which = random.nextInt(5);
          text.append('\\').append("nrtbf".charAt(which));
          value.append("\n\r\t\b\f".charAt(which));
        }
        case 7 -> {
          text.append(random.nextBoolean() ? "\\\"" : "\\\\");
          value.append(text.charAt(text.length() - 1));
        }
        case 8 -> {
          text.append("\\/");
          value.append('/');
        }
        case 9 -> append(text, value, "\uFFFF\u00E9\u4E2D", random.nextBoolean());
        case 10 -> {
          if (mayBeFlawed && random.nextInt(4) == 0) {
            char lone =
                (char)
                    (random.nextBoolean()
                        ? 0xD800 + random.nextInt(0x400)
                        : 0xDC00 + random.nextInt(0x400));
            append(text, value, String.valueOf(lone), !rawLoneSurrogates || random.nextBoolean());
            // A plain letter after it, so the next character cannot pair with it.
            text.append('x');
            value.append('x');
            flaw = "has a lone surrogate";
          }
        }
        case 11 -> {
          if (mayBeFlawed && random.nextInt(4) == 0) {
            append(text, value, "\u0000", true);
            flaw = "has NUL";
          }
        }
        default -> {
          char plain = (char) ('a' + random.nextInt(26));
          text.append(plain);
          value.append(plain);
        }
      }
    }
    text.append('"');
    return value.toString();
  }

  /** Appends the characters to the value, and to the text raw or as \\u escapes. */
  private static void append(
      StringBuilder text, StringBuilder value, String chars, boolean escape) {
    value.append(chars);
    for (int i = 0; i < chars.length(); i++) {
      char c = chars.charAt(i);
      if (escape || c < 0x20) {
        text.append(String.format("\\u%04x", (int) c));
      } else {
        text.append(c);
      }
    }
  }
}
