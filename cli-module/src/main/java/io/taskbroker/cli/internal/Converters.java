package io.taskbroker.cli.internal;

import io.taskbroker.common.InvalidJobException;
import io.taskbroker.common.JobStatus;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Picocli converters for the command line's value types. A failure is a {@link
 * TypeConversionException} whose message picocli prefixes with the flag's name, so the user sees
 * one line such as {@code Invalid value for option '--delay': '10x' is not a duration; ...}.
 * Stateless.
 */
public final class Converters {
  private Converters() {}

  /** {@code 500ms}, {@code 10s}, {@code 5m}, {@code 2h}, {@code 7d}, {@code PT10S}. */
  public static final class DurationConverter implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      try {
        return Durations.parse(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }

  /** How long finished jobs are kept, or {@code none} to keep them forever. */
  public record Retention(Duration keep) {
    public static final Retention NONE = new Retention(null);
  }

  /** A duration, or {@code none}. */
  public static final class RetentionConverter implements ITypeConverter<Retention> {
    @Override
    public Retention convert(String value) {
      if (value != null && value.trim().equalsIgnoreCase("none")) {
        return Retention.NONE;
      }
      try {
        Duration keep = Durations.parse(value);
        if (keep.isZero()) {
          throw new TypeConversionException(
              "a retention of 0 would delete jobs as they finish; use 'none' to keep them forever");
        }
        return new Retention(keep);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage() + ", or 'none' to keep jobs forever");
      }
    }
  }

  /** A job id. */
  public static final class JobIdConverter implements ITypeConverter<UUID> {
    @Override
    public UUID convert(String value) {
      try {
        UUID id = UUID.fromString(value.trim());
        // UUID.fromString accepts short groups ("1-2-3-4-5"); a job id is always the full form.
        if (id.toString().equalsIgnoreCase(value.trim())) {
          return id;
        }
      } catch (IllegalArgumentException e) {
        // Reported below in the user's terms.
      }
      throw new TypeConversionException(
          "'" + value + "' is not a job id (a UUID such as 123e4567-e89b-12d3-a456-426614174000)");
    }
  }

  /** One of pending, running, completed, failed, cancelled. */
  public static final class JobStatusConverter implements ITypeConverter<JobStatus> {
    @Override
    public JobStatus convert(String value) {
      try {
        return JobStatus.parse(value);
      } catch (InvalidJobException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }

  /**
   * The queues a worker serves: {@code a,b} or {@code a:5,b:2}; a queue without a number gets the
   * worker's {@code --concurrency}.
   *
   * @param queues name → concurrency, or null where none was given; in the order typed
   */
  public record QueueList(Map<String, Integer> queues) {
    public Map<String, Integer> withDefault(int concurrency) {
      Map<String, Integer> resolved = new LinkedHashMap<>();
      queues.forEach((name, count) -> resolved.put(name, count == null ? concurrency : count));
      return resolved;
    }
  }

  /** Parses {@code a,b:5}. */
  public static final class QueueListConverter implements ITypeConverter<QueueList> {
    @Override
    public QueueList convert(String value) {
      Map<String, Integer> queues = new LinkedHashMap<>();
      for (String entry : value.split(",", -1)) {
        String trimmed = entry.trim();
        String name = trimmed;
        Integer count = null;
        int colon = trimmed.lastIndexOf(':');
        if (colon >= 0) {
          name = trimmed.substring(0, colon).trim();
          String number = trimmed.substring(colon + 1).trim();
          try {
            count = Integer.parseInt(number);
          } catch (NumberFormatException e) {
            throw new TypeConversionException(
                "'"
                    + trimmed
                    + "': the concurrency after ':' must be a number, got '"
                    + number
                    + "'");
          }
          if (count < 1) {
            throw new TypeConversionException(
                "'" + trimmed + "': the concurrency must be at least 1, got " + count);
          }
        }
        if (name.isEmpty()) {
          throw new TypeConversionException(
              "'" + value + "' has an empty queue name; use e.g. default,emails:5");
        }
        if (queues.containsKey(name)) {
          throw new TypeConversionException("queue '" + name + "' is listed twice");
        }
        queues.put(name, count);
      }
      return new QueueList(queues);
    }
  }
}
