package io.taskbroker.api;

import io.taskbroker.api.spi.JobLifecycleListener;
import io.taskbroker.common.InvalidConfigException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Settings of a {@link TaskBrokerClient}. Immutable.
 *
 * @param awaitPollInterval how often {@code await} re-reads awaited jobs in case a notification was
 *     lost; LISTEN does the real work, so this can be slow
 * @param migrate whether connecting applies the schema migrations first
 * @param wakeLocalWorkers whether a committed submit wakes the workers of this JVM that serve its
 *     queue at once, ahead of the NOTIFY (see {@link io.taskbroker.api.spi.LocalWakeups})
 * @param listeners told of every job this client submits ({@link JobLifecycleListener#submitted}),
 *     e.g. for a submitted-jobs counter
 */
public record ClientConfig(
    Duration awaitPollInterval,
    boolean migrate,
    boolean wakeLocalWorkers,
    List<JobLifecycleListener> listeners) {
  public static final Duration DEFAULT_AWAIT_POLL_INTERVAL = Duration.ofSeconds(5);

  /**
   * Validates every value, so a config made with this constructor is as sound as one from the
   * {@link Builder} (which only collects values).
   *
   * @throws InvalidConfigException naming the first bad value
   */
  public ClientConfig {
    if (awaitPollInterval == null || awaitPollInterval.toMillis() < 10) {
      throw new InvalidConfigException(
          "await poll interval must be at least 10ms, got " + awaitPollInterval);
    }
    if (listeners == null || listeners.stream().anyMatch(java.util.Objects::isNull)) {
      throw new InvalidConfigException("listeners must be a list without nulls, got " + listeners);
    }
    listeners = List.copyOf(listeners);
  }

  /** Settings without listeners. */
  public ClientConfig(Duration awaitPollInterval, boolean migrate, boolean wakeLocalWorkers) {
    this(awaitPollInterval, migrate, wakeLocalWorkers, List.of());
  }

  public static ClientConfig defaults() {
    return builder().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Not thread-safe. */
  public static final class Builder {
    private Duration awaitPollInterval = DEFAULT_AWAIT_POLL_INTERVAL;
    private boolean migrate = true;
    private boolean wakeLocalWorkers = true;
    private final List<JobLifecycleListener> listeners = new ArrayList<>();

    private Builder() {}

    public Builder awaitPollInterval(Duration awaitPollInterval) {
      this.awaitPollInterval = awaitPollInterval;
      return this;
    }

    public Builder migrate(boolean migrate) {
      this.migrate = migrate;
      return this;
    }

    public Builder wakeLocalWorkers(boolean wakeLocalWorkers) {
      this.wakeLocalWorkers = wakeLocalWorkers;
      return this;
    }

    /** Adds a listener told of every job this client submits; several allowed. */
    public Builder listener(JobLifecycleListener listener) {
      this.listeners.add(listener);
      return this;
    }

    /**
     * @throws InvalidConfigException naming the first bad value
     */
    public ClientConfig build() {
      return new ClientConfig(awaitPollInterval, migrate, wakeLocalWorkers, listeners);
    }
  }
}
