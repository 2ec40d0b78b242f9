package io.taskbroker.metrics;

import io.taskbroker.common.InvalidConfigException;
import java.time.Duration;

/**
 * Settings of {@link TaskBrokerMetrics}. Immutable.
 *
 * @param queueStatsInterval how often the per-queue gauges are read from the database (one
 *     index-bounded query per period, never per scrape)
 * @param histograms whether the timers publish histogram buckets (for quantiles across workers)
 */
public record MetricsConfig(Duration queueStatsInterval, boolean histograms) {
  public static final Duration DEFAULT_QUEUE_STATS_INTERVAL = Duration.ofSeconds(10);

  /**
   * @throws InvalidConfigException naming the bad value
   */
  public MetricsConfig {
    if (queueStatsInterval == null || queueStatsInterval.toMillis() < 100) {
      throw new InvalidConfigException(
          "queue stats interval must be at least 100ms, got " + queueStatsInterval);
    }
  }

  public static MetricsConfig defaults() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Not thread-safe. */
  public static final class Builder {
    private Duration queueStatsInterval = DEFAULT_QUEUE_STATS_INTERVAL;
    private boolean histograms = true;

    private Builder() {}

    public Builder queueStatsInterval(Duration queueStatsInterval) {
      this.queueStatsInterval = queueStatsInterval;
      return this;
    }

    public Builder histograms(boolean histograms) {
      this.histograms = histograms;
      return this;
    }

    /**
     * @throws InvalidConfigException naming the bad value
     */
    public MetricsConfig build() {
      return new MetricsConfig(queueStatsInterval, histograms);
    }
  }
}
