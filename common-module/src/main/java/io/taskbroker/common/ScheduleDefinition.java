package io.taskbroker.common;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.ZoneId;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A recurring schedule: when (a cron expression or an interval, in an IANA time zone), what (the
 * job template) and how (catch-up, overlap, jitter). Immutable; build with {@link #builder}, which
 * checks every field the way {@code taskbroker.upsert_schedule} does and names the bad one ({@link
 * InvalidScheduleException}). The cron is checked for its shape here; the worker's scheduler parses
 * it fully.
 *
 * @param cron five fields (minute hour day-of-month month day-of-week), six with a leading seconds
 *     field, or an interval ({@code every 30 seconds}, {@code every 5 minutes}, {@code every
 *     hour}); whitespace collapsed
 * @param timeZone an IANA zone name; cron fields are local times there (intervals ignore it)
 * @param timeout the job's per-attempt limit; null leaves it to the plugin or worker
 * @param catchUpWindow with {@link CatchUp#ALL}, how far back missed slots are still run
 * @param jitter each job's run_at is its slot plus a random delay up to this
 */
public record ScheduleDefinition(
    String name,
    String cron,
    String timeZone,
    String plugin,
    String queue,
    ObjectNode payload,
    ObjectNode metadata,
    int priority,
    int maxAttempts,
    Duration timeout,
    CatchUp catchUp,
    Duration catchUpWindow,
    Overlap overlap,
    Duration jitter) {

  public static final String DEFAULT_TIME_ZONE = "UTC";
  public static final Duration DEFAULT_CATCH_UP_WINDOW = Duration.ofHours(1);
  public static final Duration MAX_CATCH_UP_WINDOW = Duration.ofDays(31);
  public static final Duration MAX_JITTER = Duration.ofDays(1);

  private static final Pattern INTERVAL =
      Pattern.compile("every( [1-9][0-9]{0,6})? (second|minute|hour)s?");
  // As upsert_schedule's '^every\M': the word "every" first, in any case.
  private static final Pattern INTERVAL_LIKE = Pattern.compile("(?i)every\\b.*");
  private static final Pattern CRON_FIELD = Pattern.compile("[0-9A-Za-z*/,?#-]+");

  /** After a time with no worker (a slot at most 10 seconds late is on time under every one). */
  public enum CatchUp {
    /** Skip the missed slots; run from the next. */
    NONE,
    /** One run, for the most recent missed slot. */
    LATEST,
    /** Every missed slot within the catch-up window (at most 100 per tick). */
    ALL;

    public String dbValue() {
      return name().toLowerCase(Locale.ROOT);
    }

    public static CatchUp parse(String value) {
      for (CatchUp policy : values()) {
        if (policy.dbValue().equals(value)) {
          return policy;
        }
      }
      throw new InvalidScheduleException(
          "catch_up", "must be 'none', 'latest' or 'all', got '" + value + "'");
    }
  }

  /** When the previous run of the schedule is still pending or running. */
  public enum Overlap {
    /** Enqueue this slot's job anyway. */
    ALLOW,
    /** Skip this slot (recorded as {@code skipped_overlap} in {@code schedule_runs}). */
    SKIP,
    /** Cancel the previous job (as {@code taskbroker.cancel} does), then enqueue this one. */
    CANCEL_PREVIOUS;

    public String dbValue() {
      return name().toLowerCase(Locale.ROOT);
    }

    public static Overlap parse(String value) {
      for (Overlap policy : values()) {
        if (policy.dbValue().equals(value)) {
          return policy;
        }
      }
      throw new InvalidScheduleException(
          "overlap", "must be 'allow', 'skip' or 'cancel_previous', got '" + value + "'");
    }
  }

  public ScheduleDefinition {
    Objects.requireNonNull(payload, "payload");
    Objects.requireNonNull(metadata, "metadata");
    Objects.requireNonNull(catchUp, "catchUp");
    Objects.requireNonNull(overlap, "overlap");
  }

  public static Builder builder(String name, String cron, String plugin) {
    return new Builder(name, cron, plugin);
  }

  /** The cron as stored: whitespace collapsed, an interval in lower case. */
  public static String normalizeCron(String cron) {
    String collapsed = cron == null ? "" : cron.strip().replaceAll("\\s+", " ");
    return INTERVAL_LIKE.matcher(collapsed).matches()
        ? collapsed.toLowerCase(Locale.ROOT)
        : collapsed;
  }

  /** Whether the cron is an interval ({@code every ...}) rather than cron fields. */
  public static boolean isInterval(String cron) {
    return INTERVAL.matcher(normalizeCron(cron)).matches();
  }

  /** Not thread-safe; build once, share the record. */
  public static final class Builder {
    private final String name;
    private final String cron;
    private final String plugin;
    private String timeZone = DEFAULT_TIME_ZONE;
    private String queue = NewJob.DEFAULT_QUEUE;
    private JsonNode payload = Json.object();
    private JsonNode metadata = Json.object();
    private int priority;
    private int maxAttempts = NewJob.DEFAULT_MAX_ATTEMPTS;
    private Duration timeout;
    private CatchUp catchUp = CatchUp.NONE;
    private Duration catchUpWindow = DEFAULT_CATCH_UP_WINDOW;
    private Overlap overlap = Overlap.ALLOW;
    private Duration jitter = Duration.ZERO;

    private Builder(String name, String cron, String plugin) {
      this.name = name;
      this.cron = cron;
      this.plugin = plugin;
    }

    public Builder timeZone(String timeZone) {
      this.timeZone = timeZone;
      return this;
    }

    public Builder timeZone(ZoneId timeZone) {
      this.timeZone = timeZone.getId();
      return this;
    }

    public Builder queue(String queue) {
      this.queue = queue;
      return this;
    }

    public Builder payload(JsonNode payload) {
      this.payload = payload;
      return this;
    }

    public Builder payload(Map<String, ?> payload) {
      this.payload = payload == null ? null : Json.toTree(payload);
      return this;
    }

    public Builder metadata(JsonNode metadata) {
      this.metadata = metadata;
      return this;
    }

    public Builder metadata(Map<String, ?> metadata) {
      this.metadata = metadata == null ? null : Json.toTree(metadata);
      return this;
    }

    public Builder priority(int priority) {
      this.priority = priority;
      return this;
    }

    public Builder maxAttempts(int maxAttempts) {
      this.maxAttempts = maxAttempts;
      return this;
    }

    public Builder timeout(Duration timeout) {
      this.timeout = timeout;
      return this;
    }

    public Builder catchUp(CatchUp catchUp) {
      this.catchUp = catchUp;
      return this;
    }

    public Builder catchUpWindow(Duration catchUpWindow) {
      this.catchUpWindow = catchUpWindow;
      return this;
    }

    public Builder overlap(Overlap overlap) {
      this.overlap = overlap;
      return this;
    }

    public Builder jitter(Duration jitter) {
      this.jitter = jitter;
      return this;
    }

    /**
     * @throws InvalidScheduleException naming the first bad field
     */
    public ScheduleDefinition build() {
      if (name == null || name.isBlank() || name.length() > 128) {
        throw new InvalidScheduleException(
            "name", "a schedule needs a name of 1 to 128 characters, got '" + name + "'");
      }
      String normalized = normalizeCron(cron);
      checkCronShape(normalized);
      if (timeZone == null) {
        throw new InvalidScheduleException("time_zone", "must not be null");
      }
      try {
        ZoneId.of(timeZone);
      } catch (java.time.DateTimeException e) {
        throw new InvalidScheduleException(
            "time_zone",
            "unknown time zone '"
                + timeZone
                + "'; expected an IANA name such as 'UTC' or 'Europe/Berlin'",
            e);
      }
      if (plugin == null || plugin.isEmpty() || plugin.length() > 128) {
        throw new InvalidScheduleException(
            "plugin",
            "a schedule needs a plugin name of 1 to 128 characters, got '" + plugin + "'");
      }
      if (queue == null || queue.isEmpty() || queue.length() > 128) {
        throw new InvalidScheduleException(
            "queue", "must be a name of 1 to 128 characters, got '" + queue + "'");
      }
      if (priority < Short.MIN_VALUE || priority > Short.MAX_VALUE) {
        throw new InvalidScheduleException(
            "priority", "must be between -32768 and 32767, got " + priority);
      }
      if (maxAttempts < 1 || maxAttempts > NewJob.MAX_MAX_ATTEMPTS) {
        throw new InvalidScheduleException(
            "max_attempts", "must be between 1 and 1000, got " + maxAttempts);
      }
      if (timeout != null
          && (timeout.isNegative() || timeout.isZero() || timeout.toMillis() > Integer.MAX_VALUE)) {
        throw new InvalidScheduleException(
            "timeout_ms", "must be positive and under 24 days, got " + timeout);
      }
      if (catchUp == null) {
        throw new InvalidScheduleException("catch_up", "must not be null");
      }
      if (catchUpWindow == null
          || catchUpWindow.isNegative()
          || catchUpWindow.compareTo(MAX_CATCH_UP_WINDOW) > 0) {
        throw new InvalidScheduleException(
            "catch_up_window", "must be between 0 and 31 days, got " + catchUpWindow);
      }
      if (overlap == null) {
        throw new InvalidScheduleException("overlap", "must not be null");
      }
      if (jitter == null || jitter.isNegative() || jitter.compareTo(MAX_JITTER) > 0) {
        throw new InvalidScheduleException("jitter", "must be between 0 and 1 day, got " + jitter);
      }
      ObjectNode payloadObject;
      ObjectNode metadataObject;
      try {
        payloadObject = Json.requireObject(payload, "payload");
        Json.requireStorable(payloadObject, "payload");
      } catch (InvalidJobException e) {
        throw new InvalidScheduleException("payload", e.getMessage(), e);
      }
      try {
        metadataObject = Json.requireObject(metadata, "metadata");
        Json.requireStorable(metadataObject, "metadata");
      } catch (InvalidJobException e) {
        throw new InvalidScheduleException("metadata", e.getMessage(), e);
      }
      return new ScheduleDefinition(
          name,
          normalized,
          timeZone,
          plugin,
          queue,
          payloadObject,
          metadataObject,
          priority,
          maxAttempts,
          timeout,
          catchUp,
          catchUpWindow,
          overlap,
          jitter);
    }

    private static void checkCronShape(String cron) {
      if (cron.isEmpty()) {
        throw new InvalidScheduleException(
            "cron",
            "a schedule needs a cron expression or an interval ('*/5 * * * *', 'every 30"
                + " seconds')");
      }
      if (cron.length() > 256) {
        throw new InvalidScheduleException("cron", "longer than 256 characters");
      }
      if (INTERVAL_LIKE.matcher(cron).matches()) {
        if (!INTERVAL.matcher(cron).matches()) {
          throw new InvalidScheduleException(
              "cron",
              "invalid interval '"
                  + cron
                  + "': expected 'every N seconds', 'every N minutes' or 'every N hours' (N from 1"
                  + " to 9999999)");
        }
        return;
      }
      String[] fields = cron.split(" ");
      if (fields.length != 5 && fields.length != 6) {
        throw new InvalidScheduleException(
            "cron",
            "'"
                + cron
                + "' has "
                + fields.length
                + " fields; expected 5 (minute hour day-of-month month day-of-week), 6 with a"
                + " leading seconds field, or an interval like 'every 5 minutes'");
      }
      for (int i = 0; i < fields.length; i++) {
        if (!CRON_FIELD.matcher(fields[i]).matches()) {
          throw new InvalidScheduleException(
              "cron",
              "field "
                  + (i + 1)
                  + " ('"
                  + fields[i]
                  + "') of '"
                  + cron
                  + "' has a character no cron field allows");
        }
      }
    }
  }
}
