package io.taskbroker.common;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

/**
 * A job to submit: a plugin name, a JSON object payload, and how to run it. Immutable; build with
 * {@link #builder(String)}. Every field is validated when the record is made.
 *
 * @param runAt when the job may start; null means now (the database's clock)
 * @param delay added to the database's now() when {@code runAt} is null; null means none
 * @param timeout per-job limit on one attempt; null leaves it to the plugin or worker default
 * @param concurrencyKey groups jobs for the queue's {@code key_concurrency} limit (at most that
 *     many of one key run at once); null for none
 */
public record NewJob(
    String plugin,
    ObjectNode payload,
    String queue,
    int priority,
    Instant runAt,
    Duration delay,
    int maxAttempts,
    ObjectNode metadata,
    String uniqueKey,
    Duration timeout,
    String concurrencyKey) {

  public static final String DEFAULT_QUEUE = "default";
  public static final int DEFAULT_MAX_ATTEMPTS = 3;
  public static final int MAX_MAX_ATTEMPTS = 1000;

  /**
   * Validates every value, so a job made with this constructor is as sound as one from the {@link
   * Builder} (which only collects values and turns JSON into objects).
   *
   * @throws InvalidJobException naming the first bad value
   */
  public NewJob {
    if (plugin == null || plugin.isBlank()) {
      throw new InvalidJobException("plugin name must not be empty");
    }
    if (plugin.length() > 128) {
      throw new InvalidJobException("plugin name is longer than 128 characters: " + plugin);
    }
    if (queue == null || queue.isBlank() || queue.length() > 128) {
      throw new InvalidJobException(
          "queue must be a non-empty name of at most 128 characters, got '" + queue + "'");
    }
    if (priority < Short.MIN_VALUE || priority > Short.MAX_VALUE) {
      throw new InvalidJobException("priority must be between -32768 and 32767, got " + priority);
    }
    if (maxAttempts < 1 || maxAttempts > MAX_MAX_ATTEMPTS) {
      throw new InvalidJobException(
          "max_attempts must be between 1 and " + MAX_MAX_ATTEMPTS + ", got " + maxAttempts);
    }
    if (delay != null && delay.isNegative()) {
      throw new InvalidJobException("delay must not be negative, got " + delay);
    }
    if (timeout != null && (timeout.isNegative() || timeout.isZero())) {
      throw new InvalidJobException("timeout must be positive, got " + timeout);
    }
    if (timeout != null && timeout.toMillis() > Integer.MAX_VALUE) {
      throw new InvalidJobException("timeout is too long: " + timeout);
    }
    if (concurrencyKey != null && (concurrencyKey.isEmpty() || concurrencyKey.length() > 256)) {
      throw new InvalidJobException(
          "concurrency key must be 1 to 256 characters (leave it unset instead), got '"
              + concurrencyKey
              + "'");
    }
    if (uniqueKey != null && uniqueKey.isEmpty()) {
      throw new InvalidJobException("unique key must not be empty (leave it unset instead)");
    }
    Json.requireObject(payload, "payload");
    Json.requireObject(metadata, "metadata");
    // Refused here, naming the value, rather than changed or refused by the database later;
    // the insert checks again (with the size), as nodes may change after construction.
    Json.requireStorable(payload, "payload");
    Json.requireStorable(metadata, "metadata");
  }

  /** A job without a concurrency key (the record's shape before the key existed). */
  public NewJob(
      String plugin,
      ObjectNode payload,
      String queue,
      int priority,
      Instant runAt,
      Duration delay,
      int maxAttempts,
      ObjectNode metadata,
      String uniqueKey,
      Duration timeout) {
    this(
        plugin,
        payload,
        queue,
        priority,
        runAt,
        delay,
        maxAttempts,
        metadata,
        uniqueKey,
        timeout,
        null);
  }

  public static Builder builder(String plugin) {
    return new Builder(plugin);
  }

  /** A job for {@code plugin} with this payload and every default. */
  public static NewJob of(String plugin, Map<String, ?> payload) {
    return builder(plugin).payload(payload).build();
  }

  /** Not thread-safe; build once, share the record. */
  public static final class Builder {
    private final String plugin;
    private JsonNode payload = Json.object();
    private String queue = DEFAULT_QUEUE;
    private int priority;
    private Instant runAt;
    private Duration delay;
    private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
    private JsonNode metadata = Json.object();
    private String uniqueKey;
    private Duration timeout;
    private String concurrencyKey;

    private Builder(String plugin) {
      this.plugin = plugin;
    }

    public Builder payload(JsonNode payload) {
      this.payload = payload;
      return this;
    }

    public Builder payload(Map<String, ?> payload) {
      this.payload = payload == null ? null : Json.toTree(payload);
      return this;
    }

    /** The payload as this record's JSON (its components as properties). */
    public Builder payload(Record payload) {
      this.payload = payload == null ? null : Json.toTree(payload);
      return this;
    }

    /** The payload as JSON text; it must be an object. */
    public Builder payloadJson(String json) {
      this.payload = Json.parseObject(json, "payload");
      return this;
    }

    public Builder queue(String queue) {
      this.queue = queue;
      return this;
    }

    /** Lower runs first; any value in -32768..32767. */
    public Builder priority(int priority) {
      this.priority = priority;
      return this;
    }

    public Builder runAt(Instant runAt) {
      this.runAt = runAt;
      return this;
    }

    public Builder delay(Duration delay) {
      this.delay = delay;
      return this;
    }

    public Builder maxAttempts(int maxAttempts) {
      this.maxAttempts = maxAttempts;
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

    public Builder uniqueKey(String uniqueKey) {
      this.uniqueKey = uniqueKey;
      return this;
    }

    public Builder timeout(Duration timeout) {
      this.timeout = timeout;
      return this;
    }

    /** At most the queue's {@code key_concurrency} jobs of one key run at once. */
    public Builder concurrencyKey(String concurrencyKey) {
      this.concurrencyKey = concurrencyKey;
      return this;
    }

    /**
     * @throws InvalidJobException naming the first bad value
     */
    public NewJob build() {
      return new NewJob(
          plugin,
          Json.requireObject(payload, "payload"),
          queue,
          priority,
          runAt,
          delay,
          maxAttempts,
          Json.requireObject(metadata, "metadata"),
          uniqueKey,
          timeout,
          concurrencyKey);
    }
  }
}
