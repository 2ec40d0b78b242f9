package io.taskbroker.common;

import java.time.Duration;

/**
 * The flow limits of one queue ({@code taskbroker.queues}); a null component is no limit. Enforced
 * by the claim in the database, exactly, whatever the number of workers. Immutable; validated in
 * the canonical constructor.
 *
 * @param globalConcurrency at most this many jobs of the queue running at once, across the fleet
 * @param rateLimit at most this many starts in any window of {@code ratePeriod} (sliding)
 * @param ratePeriod the rate's window; null with a rate limit means one second
 * @param keyConcurrency at most this many running jobs per {@link NewJob#concurrencyKey()}
 */
public record QueueLimits(
    Integer globalConcurrency, Integer rateLimit, Duration ratePeriod, Integer keyConcurrency) {
  private static final QueueLimits NONE = new QueueLimits(null, null, null, null);
  private static final Duration MAX_PERIOD = Duration.ofDays(1);

  public QueueLimits {
    if (globalConcurrency != null && globalConcurrency < 1) {
      throw new InvalidQueueException(
          "global_concurrency",
          "must be at least 1 (null for no limit; pause the queue to stop it), got "
              + globalConcurrency);
    }
    if (rateLimit != null && rateLimit < 1) {
      throw new InvalidQueueException(
          "rate_limit", "must be at least 1 (null for no limit), got " + rateLimit);
    }
    if (ratePeriod != null && rateLimit == null) {
      throw new InvalidQueueException("rate_period", ratePeriod + " given without a rate_limit");
    }
    if (ratePeriod != null
        && (ratePeriod.isNegative()
            || ratePeriod.isZero()
            || ratePeriod.compareTo(MAX_PERIOD) > 0)) {
      throw new InvalidQueueException(
          "rate_period", "must be longer than 0 and at most 1 day, got " + ratePeriod);
    }
    if (rateLimit != null && ratePeriod == null) {
      ratePeriod = Duration.ofSeconds(1);
    }
    if (keyConcurrency != null && keyConcurrency < 1) {
      throw new InvalidQueueException(
          "key_concurrency", "must be at least 1 (null for no limit), got " + keyConcurrency);
    }
  }

  /** No limits at all. */
  public static QueueLimits none() {
    return NONE;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Whether any limit is set (the claim then goes through {@code taskbroker.claim_limited}). */
  public boolean any() {
    return globalConcurrency != null || rateLimit != null || keyConcurrency != null;
  }

  /** Not thread-safe; build once, share the record. */
  public static final class Builder {
    private Integer globalConcurrency;
    private Integer rateLimit;
    private Duration ratePeriod;
    private Integer keyConcurrency;

    private Builder() {}

    public Builder globalConcurrency(Integer globalConcurrency) {
      this.globalConcurrency = globalConcurrency;
      return this;
    }

    /** At most {@code rateLimit} starts per {@code period} (sliding window). */
    public Builder rate(Integer rateLimit, Duration period) {
      this.rateLimit = rateLimit;
      this.ratePeriod = period;
      return this;
    }

    public Builder keyConcurrency(Integer keyConcurrency) {
      this.keyConcurrency = keyConcurrency;
      return this;
    }

    public QueueLimits build() {
      return new QueueLimits(globalConcurrency, rateLimit, ratePeriod, keyConcurrency);
    }
  }
}
