package io.taskbroker.api.backend;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.common.InvalidJobException;
import io.taskbroker.common.Json;
import io.taskbroker.common.NewJob;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * How a task dict is read: {@code type} names the plugin; keys starting with {@value
 * #RESERVED_PREFIX} are settings for the backend; everything else is the payload.
 *
 * <p>The reserved keys (the prefix is reserved as a whole, so a mistyped one is refused rather than
 * silently becoming payload):
 *
 * <ul>
 *   <li>{@value #MAX_ATTEMPTS}: an integer 1..1000, how many times the task may run (broker default
 *       {@value io.taskbroker.common.NewJob#DEFAULT_MAX_ATTEMPTS}, in-process backends default 1);
 *   <li>{@value #QUEUE}: the queue the broker backend puts the job in (default: the backend's own);
 *   <li>{@value #DELAY_MS}: a non-negative integer, milliseconds before the job may start;
 *   <li>{@value #RUN_AT}: an ISO-8601 instant ({@code 2030-01-01T08:00:00Z}) before which the job
 *       does not start; not together with {@value #DELAY_MS};
 *   <li>{@value #PRIORITY}: an integer -32768..32767, lower runs first;
 *   <li>{@value #UNIQUE_KEY}: a non-empty string; the broker keeps one unfinished job per key.
 * </ul>
 *
 * <p>The reserved keys are stripped: the executor sees {@code type} and the payload only, the same
 * dict on every backend, and the job row keeps the settings in its own columns. The in-process
 * backends validate every reserved key the same way and honour {@value #MAX_ATTEMPTS}; they run a
 * task at once, so queue, delay, run-at, priority and unique key mean nothing there.
 */
public final class Tasks {
  public static final String TYPE = "type";
  public static final String RESERVED_PREFIX = "_taskbroker_";
  public static final String MAX_ATTEMPTS = RESERVED_PREFIX + "max_attempts";
  public static final String QUEUE = RESERVED_PREFIX + "queue";
  public static final String DELAY_MS = RESERVED_PREFIX + "delay_ms";
  public static final String RUN_AT = RESERVED_PREFIX + "run_at";
  public static final String PRIORITY = RESERVED_PREFIX + "priority";
  public static final String UNIQUE_KEY = RESERVED_PREFIX + "unique_key";
  private static final Set<String> RESERVED =
      Set.of(MAX_ATTEMPTS, QUEUE, DELAY_MS, RUN_AT, PRIORITY, UNIQUE_KEY);

  private Tasks() {}

  /**
   * A task dict read and validated: its type, its payload (reserved keys stripped) and its settings
   * (null where the dict does not set them).
   */
  record Parsed(
      String type,
      ObjectNode payload,
      Integer maxAttempts,
      String queue,
      Duration delay,
      Instant runAt,
      Integer priority,
      String uniqueKey) {

    /** The job the broker backend submits; {@code defaultQueue} unless the task names one. */
    NewJob toJob(String defaultQueue) {
      NewJob.Builder job =
          NewJob.builder(type).queue(queue == null ? defaultQueue : queue).payload(payload);
      if (maxAttempts != null) {
        job.maxAttempts(maxAttempts);
      }
      if (delay != null) {
        job.delay(delay);
      }
      if (runAt != null) {
        job.runAt(runAt);
      }
      if (priority != null) {
        job.priority(priority);
      }
      if (uniqueKey != null) {
        job.uniqueKey(uniqueKey);
      }
      return job.build();
    }

    /** How many times an in-process backend runs the task at most. */
    int inProcessAttempts() {
      return maxAttempts == null ? 1 : maxAttempts;
    }
  }

  /**
   * @throws InvalidJobException when the type is missing, a reserved key is unknown or has a bad
   *     value, or the payload cannot be written as JSON
   */
  static Parsed parse(Map<String, ?> task) {
    String type = type(task);
    Map<String, Object> rest = new LinkedHashMap<>();
    Map<String, Object> reserved = new LinkedHashMap<>();
    for (Map.Entry<String, ?> entry : task.entrySet()) {
      String key = entry.getKey();
      if (TYPE.equals(key)) {
        continue;
      }
      if (key != null && key.startsWith(RESERVED_PREFIX)) {
        if (!RESERVED.contains(key)) {
          throw new InvalidJobException(
              "unknown reserved task key '"
                  + key
                  + "': keys starting with "
                  + RESERVED_PREFIX
                  + " are settings, one of "
                  + RESERVED.stream().sorted().toList());
        }
        reserved.put(key, entry.getValue());
      } else {
        rest.put(key, entry.getValue());
      }
    }
    Integer maxAttempts = integer(reserved, MAX_ATTEMPTS, 1, NewJob.MAX_MAX_ATTEMPTS);
    Integer priority = integer(reserved, PRIORITY, Short.MIN_VALUE, Short.MAX_VALUE);
    Long delayMs = longValue(reserved, DELAY_MS);
    Instant runAt = instant(reserved, RUN_AT);
    if (delayMs != null && runAt != null) {
      throw new InvalidJobException(
          "a task sets either " + DELAY_MS + " or " + RUN_AT + ", not both");
    }
    return new Parsed(
        type,
        Json.fromMap(rest),
        maxAttempts,
        text(reserved, QUEUE),
        delayMs == null ? null : Duration.ofMillis(delayMs),
        runAt,
        priority,
        text(reserved, UNIQUE_KEY));
  }

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

  /** The dict an executor sees: the payload plus its type. */
  static Map<String, Object> asTask(String type, ObjectNode payload) {
    Map<String, Object> task = new LinkedHashMap<>(Json.toMap(payload));
    task.put(TYPE, type);
    return task;
  }

  private static Integer integer(Map<String, Object> reserved, String key, int min, int max) {
    Long value = longValue(reserved, key);
    if (value == null) {
      return null;
    }
    if (value < min || value > max) {
      throw new InvalidJobException(
          key + " must be between " + min + " and " + max + ", got " + value);
    }
    return value.intValue();
  }

  private static Long longValue(Map<String, Object> reserved, String key) {
    Object value = reserved.get(key);
    if (value == null) {
      return null;
    }
    if (!(value instanceof Integer || value instanceof Long || value instanceof Short)) {
      throw new InvalidJobException(key + " must be an integer, got " + value);
    }
    long number = ((Number) value).longValue();
    if (key.equals(DELAY_MS) && number < 0) {
      throw new InvalidJobException(key + " must not be negative, got " + number);
    }
    return number;
  }

  private static Instant instant(Map<String, Object> reserved, String key) {
    Object value = reserved.get(key);
    if (value == null) {
      return null;
    }
    if (value instanceof Instant instant) {
      return instant;
    }
    try {
      return Instant.parse(value.toString());
    } catch (DateTimeParseException e) {
      throw new InvalidJobException(
          key + " must be an ISO-8601 instant such as 2030-01-01T08:00:00Z, got " + value);
    }
  }

  private static String text(Map<String, Object> reserved, String key) {
    Object value = reserved.get(key);
    if (value == null) {
      return null;
    }
    if (!(value instanceof String string) || string.isEmpty()) {
      throw new InvalidJobException(key + " must be a non-empty string, got " + value);
    }
    return string;
  }
}
