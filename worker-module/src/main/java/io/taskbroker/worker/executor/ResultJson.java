package io.taskbroker.worker.executor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.util.RawValue;
import io.taskbroker.common.Json;

/**
 * A plugin's result, written as JSON text once, on the plugin's thread, and checked for what
 * PostgreSQL's jsonb would refuse, before it joins a batch: a result that cannot be written, holds
 * NUL or an unpaired surrogate, or is over the size limit would otherwise fail the statement that
 * carries other jobs' outcomes too. Stateless and thread-safe.
 */
final class ResultJson {
  private ResultJson() {}

  /** A result checked for writing: the node to hand the repository, or why it cannot be. */
  record Checked(JsonNode node, long chars, String problem) {
    boolean ok() {
      return problem == null;
    }
  }

  static Checked check(JsonNode result, long maxBytes) {
    if (result == null) {
      return new Checked(null, 0, null);
    }
    String text;
    try {
      text = Json.write(result);
    } catch (RuntimeException | StackOverflowError e) {
      // Thrown by the plugin's own result (a POJONode holding something Jackson cannot write,
      // a JsonNode whose serialize throws, a cycle): that job's fault, on that job's thread.
      return new Checked(null, 0, "it cannot be written as JSON (" + describe(e) + ")");
    }
    String problem = problem(text, maxBytes);
    if (problem != null) {
      return new Checked(null, 0, problem);
    }
    // Written once: the repository copies the raw text instead of serializing the tree again
    // on the completer's single thread.
    return new Checked(
        JsonNodeFactory.instance.rawValueNode(new RawValue(text)), text.length(), null);
  }

  /** What jsonb would refuse in this JSON text, or null; one pass that also counts UTF-8 bytes. */
  static String problem(String json, long maxBytes) {
    if (json.length() > maxBytes) {
      // Each character is at least one byte: no need to scan a text this long.
      return tooLarge("at least " + json.length(), maxBytes);
    }
    long bytes = 0;
    int length = json.length();
    for (int i = 0; i < length; i++) {
      char c = json.charAt(i);
      if (c == '\\' && i + 1 < length) {
        char escaped = json.charAt(i + 1);
        if (escaped == 'u' && i + 5 < length) {
          int code = hex(json, i + 2);
          if (code == 0) {
            return "it holds the character U+0000 (NUL), which PostgreSQL cannot store";
          }
          if (code >= 0 && Character.isHighSurrogate((char) code)) {
            boolean paired =
                i + 11 < length
                    && json.charAt(i + 6) == '\\'
                    && json.charAt(i + 7) == 'u'
                    && Character.isLowSurrogate((char) hex(json, i + 8));
            if (!paired) {
              return unpairedSurrogate(i);
            }
            bytes += 12;
            i += 11;
            continue;
          }
          if (code >= 0 && Character.isLowSurrogate((char) code)) {
            return unpairedSurrogate(i);
          }
          bytes += 6;
          i += 5;
          continue;
        }
        bytes += 2;
        i++;
        continue;
      }
      if (c < 0x80) {
        bytes += 1;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c)) {
        if (i + 1 >= length || !Character.isLowSurrogate(json.charAt(i + 1))) {
          return unpairedSurrogate(i);
        }
        bytes += 4;
        i++;
      } else if (Character.isLowSurrogate(c)) {
        return unpairedSurrogate(i);
      } else {
        bytes += 3;
      }
    }
    return bytes > maxBytes ? tooLarge(Long.toString(bytes), maxBytes) : null;
  }

  /** The four hex digits at {@code from} as a number, or -1 when they are not hex digits. */
  private static int hex(String json, int from) {
    int value = 0;
    for (int i = from; i < from + 4; i++) {
      int digit = Character.digit(json.charAt(i), 16);
      if (digit < 0) {
        return -1;
      }
      value = value * 16 + digit;
    }
    return value;
  }

  private static String tooLarge(String size, long maxBytes) {
    return "its JSON is "
        + size
        + " bytes, over the worker's limit of "
        + maxBytes
        + " bytes (maxResultBytes)";
  }

  private static String unpairedSurrogate(int at) {
    return "it holds an unpaired UTF-16 surrogate (at character "
        + at
        + " of its JSON), which has no UTF-8 form";
  }

  private static String describe(Throwable e) {
    String message;
    try {
      message = e.getMessage();
    } catch (RuntimeException unreadable) {
      message = null;
    }
    return e.getClass().getName() + (message == null ? "" : ": " + message);
  }
}
