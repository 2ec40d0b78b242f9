package io.taskbroker.worker;

import io.taskbroker.api.spi.JobLifecycleListener;
import io.taskbroker.common.InvalidConfigException;
import io.taskbroker.common.ScheduleDefinition;
import io.taskbroker.worker.producer.Producer;
import io.taskbroker.worker.scheduler.Slots;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Everything a {@link Worker} needs to know, validated once. Immutable.
 *
 * @param queues queue name → how many of its jobs this worker runs at once
 * @param pollInterval how often a producer looks for work without being notified (jittered)
 * @param lease how long a claimed job stays this worker's without a heartbeat
 * @param heartbeatInterval how often leases are extended (well under the lease)
 * @param rescueInterval how often this worker looks for jobs whose lease expired (jittered)
 * @param drainTimeout how long shutdown lets running jobs finish before handing them back
 * @param defaultTimeout the longest one attempt may run when neither job nor plugin says; null for
 *     no limit
 * @param maxClaimBatch the most jobs one claim statement takes
 * @param completerBatch the most outcomes one completion statement writes
 * @param retryBaseDelay the first retry's delay; doubles each attempt (with jitter)
 * @param retryMaxDelay the longest retry delay
 * @param completerRetryLimit how long outcomes are kept and retried while the database is away
 * @param retention how long finished jobs are kept before the pruner deletes them; null keeps them
 *     forever
 * @param pruneInterval how often the pruner runs
 * @param historyAfter how long a finished job stays in job_queue before the history mover takes it
 *     to the partitioned history (V12), so job_queue stays the size of the live jobs; null leaves
 *     finished jobs in job_queue (the pruner still deletes them after the retention)
 * @param maxResultBytes the largest result recorded, in UTF-8 bytes of its JSON; a job whose result
 *     is larger ends failed, saying so
 * @param listeners told of every step of every job (metrics, logging context); a listener's failure
 *     never affects a job
 * @param schedules recurring schedules declared in code, upserted when the worker starts
 * @param schedulerInterval how often the scheduler looks for due schedule slots (jittered)
 * @param prefetch per queue, the most claimed jobs that may wait beyond its slots while its jobs
 *     finish fast (under 20 ms on average), so short jobs cost fewer claims; 0 claims only into
 *     free slots; {@link #PREFETCH_AUTO} (the default) as many as the claim batch. Either way a
 *     queue holds at most about 20 ms of its work ahead (its slots times 20 ms over its average run
 *     time)
 * @param prefetchMaxWait the longest a job claimed ahead waits for one of its worker's slots; past
 *     it (the queue's jobs turned out slower than the average said) it goes back to pending, its
 *     attempt given back, for whichever worker has a free slot
 */
public record WorkerConfig(
    String workerId,
    Map<String, Integer> queues,
    Duration pollInterval,
    Duration lease,
    Duration heartbeatInterval,
    Duration rescueInterval,
    Duration drainTimeout,
    Duration defaultTimeout,
    int maxClaimBatch,
    int completerBatch,
    Duration retryBaseDelay,
    Duration retryMaxDelay,
    Duration completerRetryLimit,
    Duration retention,
    Duration pruneInterval,
    Duration historyAfter,
    boolean rescuerEnabled,
    InstantSource clock,
    long maxResultBytes,
    List<JobLifecycleListener> listeners,
    List<ScheduleDefinition> schedules,
    Duration schedulerInterval,
    int prefetch,
    Duration prefetchMaxWait) {

  public static final String DEFAULT_QUEUE = "default";
  public static final int DEFAULT_CONCURRENCY = 10;
  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(2);
  public static final Duration DEFAULT_LEASE = Duration.ofSeconds(15);
  public static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(3);
  public static final Duration DEFAULT_RESCUE_INTERVAL = Duration.ofSeconds(3);
  public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(30);
  public static final int DEFAULT_MAX_CLAIM_BATCH = 200;
  public static final int DEFAULT_COMPLETER_BATCH = 1000;
  public static final Duration DEFAULT_RETRY_BASE_DELAY = Duration.ofSeconds(1);
  public static final Duration DEFAULT_RETRY_MAX_DELAY = Duration.ofHours(1);
  public static final Duration DEFAULT_COMPLETER_RETRY_LIMIT = Duration.ofMinutes(10);
  public static final Duration DEFAULT_RETENTION = Duration.ofDays(7);
  public static final Duration DEFAULT_PRUNE_INTERVAL = Duration.ofMinutes(1);
  public static final Duration DEFAULT_HISTORY_AFTER = Duration.ofMinutes(1);
  public static final long DEFAULT_MAX_RESULT_BYTES = 16L * 1024 * 1024;
  public static final Duration DEFAULT_SCHEDULER_INTERVAL = Duration.ofSeconds(1);

  /**
   * {@link #prefetch()}: as many as the claim batch; the producer's time budget (about 20 ms of the
   * queue's work) is then what bounds the buffer.
   */
  public static final int PREFETCH_AUTO = -1;

  /**
   * {@link #prefetchMaxWait()}: 100 ms, five times the 20 ms of work a buffer is sized for, so a
   * job waits that long only when the queue's jobs run far slower than they did.
   */
  public static final Duration DEFAULT_PREFETCH_MAX_WAIT = Producer.DEFAULT_PREFETCH_MAX_WAIT;

  // PostgreSQL's jsonb holds at most 255 MB; a result near that would not fit one statement anyway.
  public static final long MAX_MAX_RESULT_BYTES = 256L * 1024 * 1024 - 1;

  /**
   * Validates every value, so a config made with this constructor is as sound as one from the
   * {@link Builder} (which only collects values and fills in defaults).
   *
   * @throws InvalidConfigException naming the first bad value
   */
  public WorkerConfig {
    if (workerId == null || workerId.isBlank()) {
      throw new InvalidConfigException(
          "worker id must not be empty, got " + (workerId == null ? "null" : "'" + workerId + "'"));
    }
    if (queues == null) {
      throw new InvalidConfigException("queues must not be null");
    }
    // Checked on a copy, so a map the caller changes meanwhile cannot slip a bad value past.
    queues = new LinkedHashMap<>(queues);
    if (queues.isEmpty()) {
      throw new InvalidConfigException("a worker needs at least one queue");
    }
    for (Map.Entry<String, Integer> queue : queues.entrySet()) {
      if (queue.getKey() == null || queue.getKey().isBlank() || queue.getKey().length() > 128) {
        throw new InvalidConfigException(
            "queue name must be 1..128 characters, got '" + queue.getKey() + "'");
      }
      if (queue.getValue() == null || queue.getValue() < 1 || queue.getValue() > 10_000) {
        throw new InvalidConfigException(
            "concurrency of queue '"
                + queue.getKey()
                + "' must be between 1 and 10000, got "
                + queue.getValue());
      }
    }
    positive("poll interval", pollInterval, Duration.ofMillis(10));
    positive("lease", lease, Duration.ofMillis(500));
    positive("heartbeat interval", heartbeatInterval, Duration.ofMillis(50));
    if (heartbeatInterval.compareTo(lease.dividedBy(2)) > 0) {
      throw new InvalidConfigException(
          "heartbeat interval ("
              + heartbeatInterval
              + ") must be at most half the lease ("
              + lease
              + "), or jobs are rescued from a live worker");
    }
    positive("rescue interval", rescueInterval, Duration.ofMillis(50));
    if (drainTimeout == null || drainTimeout.isNegative()) {
      throw new InvalidConfigException(
          "drain timeout must be zero or positive, got " + drainTimeout);
    }
    if (defaultTimeout != null) {
      positive("default timeout", defaultTimeout, Duration.ofMillis(1));
    }
    if (maxClaimBatch < 1 || maxClaimBatch > 10_000) {
      throw new InvalidConfigException(
          "max claim batch must be between 1 and 10000, got " + maxClaimBatch);
    }
    if (completerBatch < 1 || completerBatch > 10_000) {
      throw new InvalidConfigException(
          "completer batch must be between 1 and 10000, got " + completerBatch);
    }
    positive("retry base delay", retryBaseDelay, Duration.ZERO);
    positive("retry max delay", retryMaxDelay, Duration.ZERO);
    if (retryMaxDelay.compareTo(retryBaseDelay) < 0) {
      throw new InvalidConfigException(
          "retry max delay ("
              + retryMaxDelay
              + ") is below the base delay ("
              + retryBaseDelay
              + ")");
    }
    positive("completer retry limit", completerRetryLimit, Duration.ZERO);
    if (retention != null) {
      positive("retention", retention, Duration.ZERO);
    }
    positive("prune interval", pruneInterval, Duration.ofMillis(50));
    if (historyAfter != null && historyAfter.isNegative()) {
      throw new InvalidConfigException("history after must not be negative, got " + historyAfter);
    }
    if (maxResultBytes < 1 || maxResultBytes > MAX_MAX_RESULT_BYTES) {
      throw new InvalidConfigException(
          "max result bytes must be between 1 and "
              + MAX_MAX_RESULT_BYTES
              + ", got "
              + maxResultBytes);
    }
    if (clock == null) {
      throw new InvalidConfigException("clock must not be null");
    }
    queues = Map.copyOf(queues);
    listeners = listeners == null ? List.of() : List.copyOf(listeners);
    positive("scheduler interval", schedulerInterval, Duration.ofMillis(10));
    schedules = schedules == null ? List.of() : List.copyOf(schedules);
    if (prefetch < PREFETCH_AUTO || prefetch > 10_000) {
      throw new InvalidConfigException(
          "prefetch must be between 0 and 10000 (or -1: up to the claim batch), got " + prefetch);
    }
    positive("prefetch max wait", prefetchMaxWait, Duration.ofMillis(1));
    for (ScheduleDefinition schedule : schedules) {
      // The full check (cron-utils, java.time zones), before anything is written.
      Slots.parse(schedule.cron(), schedule.timeZone());
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  private static void positive(String name, Duration value, Duration minimum) {
    if (value == null || value.compareTo(minimum) < 0 || value.isNegative()) {
      throw new InvalidConfigException(name + " must be at least " + minimum + ", got " + value);
    }
  }

  /**
   * The most claimed jobs a queue may hold beyond its slots; the producer holds fewer when they
   * would be more than about 20 ms of the queue's work.
   */
  public int prefetchLimit() {
    return prefetch == PREFETCH_AUTO ? maxClaimBatch : prefetch;
  }

  /** The sum of every queue's concurrency. */
  public int totalConcurrency() {
    return queues.values().stream().mapToInt(Integer::intValue).sum();
  }

  /** {@code host-pid-random}: readable in psql, unique across restarts. */
  public static String generateWorkerId() {
    return hostName()
        + "-"
        + ProcessHandle.current().pid()
        + "-"
        + Integer.toHexString(ThreadLocalRandom.current().nextInt(0x100000, 0xFFFFFF));
  }

  static String hostName() {
    String env = System.getenv("HOSTNAME");
    if (env != null && !env.isBlank()) {
      return env;
    }
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (UnknownHostException e) {
      return ManagementFactory.getRuntimeMXBean().getName();
    }
  }

  /** Not thread-safe. */
  public static final class Builder {
    private String workerId;
    private Map<String, Integer> queues =
        new LinkedHashMap<>(Map.of(DEFAULT_QUEUE, DEFAULT_CONCURRENCY));
    private Duration pollInterval = DEFAULT_POLL_INTERVAL;
    private Duration lease = DEFAULT_LEASE;
    private Duration heartbeatInterval;
    private Duration rescueInterval = DEFAULT_RESCUE_INTERVAL;
    private Duration drainTimeout = DEFAULT_DRAIN_TIMEOUT;
    private Duration defaultTimeout;
    private int maxClaimBatch = DEFAULT_MAX_CLAIM_BATCH;
    private int completerBatch = DEFAULT_COMPLETER_BATCH;
    private int prefetch = PREFETCH_AUTO;
    private Duration prefetchMaxWait = DEFAULT_PREFETCH_MAX_WAIT;
    private Duration retryBaseDelay = DEFAULT_RETRY_BASE_DELAY;
    private Duration retryMaxDelay = DEFAULT_RETRY_MAX_DELAY;
    private Duration completerRetryLimit = DEFAULT_COMPLETER_RETRY_LIMIT;
    private Duration retention = DEFAULT_RETENTION;
    private Duration pruneInterval = DEFAULT_PRUNE_INTERVAL;
    private Duration historyAfter = DEFAULT_HISTORY_AFTER;
    private boolean rescuerEnabled = true;
    private InstantSource clock = InstantSource.system();
    private long maxResultBytes = DEFAULT_MAX_RESULT_BYTES;
    private final List<JobLifecycleListener> listeners = new ArrayList<>();
    private final Map<String, ScheduleDefinition> schedules = new LinkedHashMap<>();
    private Duration schedulerInterval = DEFAULT_SCHEDULER_INTERVAL;

    private Builder() {}

    /** Adds a job lifecycle listener; several may be added, and are told in this order. */
    public Builder listener(JobLifecycleListener listener) {
      if (listener == null) {
        throw new InvalidConfigException("listener must not be null");
      }
      listeners.add(listener);
      return this;
    }

    public Builder workerId(String workerId) {
      this.workerId = workerId;
      return this;
    }

    /** Replaces the queues: name → concurrency. */
    public Builder queues(Map<String, Integer> queues) {
      this.queues = new LinkedHashMap<>(queues);
      return this;
    }

    /** Serves one queue with this concurrency (replacing the default queue). */
    public Builder queue(String name, int concurrency) {
      this.queues = new LinkedHashMap<>(Map.of(name, concurrency));
      return this;
    }

    /** Sets the concurrency of every configured queue. */
    public Builder concurrency(int concurrency) {
      queues.replaceAll((name, old) -> concurrency);
      return this;
    }

    public Builder pollInterval(Duration pollInterval) {
      this.pollInterval = pollInterval;
      return this;
    }

    public Builder lease(Duration lease) {
      this.lease = lease;
      return this;
    }

    /** Default: a fifth of the lease. */
    public Builder heartbeatInterval(Duration heartbeatInterval) {
      this.heartbeatInterval = heartbeatInterval;
      return this;
    }

    public Builder rescueInterval(Duration rescueInterval) {
      this.rescueInterval = rescueInterval;
      return this;
    }

    public Builder drainTimeout(Duration drainTimeout) {
      this.drainTimeout = drainTimeout;
      return this;
    }

    public Builder defaultTimeout(Duration defaultTimeout) {
      this.defaultTimeout = defaultTimeout;
      return this;
    }

    public Builder maxClaimBatch(int maxClaimBatch) {
      this.maxClaimBatch = maxClaimBatch;
      return this;
    }

    public Builder completerBatch(int completerBatch) {
      this.completerBatch = completerBatch;
      return this;
    }

    public Builder retryBaseDelay(Duration retryBaseDelay) {
      this.retryBaseDelay = retryBaseDelay;
      return this;
    }

    public Builder retryMaxDelay(Duration retryMaxDelay) {
      this.retryMaxDelay = retryMaxDelay;
      return this;
    }

    public Builder completerRetryLimit(Duration completerRetryLimit) {
      this.completerRetryLimit = completerRetryLimit;
      return this;
    }

    /** Null keeps finished jobs forever. */
    public Builder retention(Duration retention) {
      this.retention = retention;
      return this;
    }

    public Builder pruneInterval(Duration pruneInterval) {
      this.pruneInterval = pruneInterval;
      return this;
    }

    /** Null leaves finished jobs in job_queue: no history mover. */
    public Builder historyAfter(Duration historyAfter) {
      this.historyAfter = historyAfter;
      return this;
    }

    public Builder rescuerEnabled(boolean rescuerEnabled) {
      this.rescuerEnabled = rescuerEnabled;
      return this;
    }

    public Builder clock(InstantSource clock) {
      this.clock = clock;
      return this;
    }

    /** Default 16 MiB. */
    public Builder maxResultBytes(long maxResultBytes) {
      this.maxResultBytes = maxResultBytes;
      return this;
    }

    /**
     * Declares a recurring schedule: upserted when the worker starts (idempotent; a changed
     * definition updates the row). A later one of the same name replaces an earlier one.
     */
    public Builder schedule(ScheduleDefinition schedule) {
      if (schedule == null) {
        throw new InvalidConfigException("schedule must not be null");
      }
      schedules.put(schedule.name(), schedule);
      return this;
    }

    /** Default 1 s. */
    public Builder schedulerInterval(Duration schedulerInterval) {
      this.schedulerInterval = schedulerInterval;
      return this;
    }

    /**
     * Per queue, how many claimed jobs may wait beyond its slots while its jobs are short; 0 claims
     * only into free slots. Default ({@link #PREFETCH_AUTO}): as many as the claim batch, and in
     * any case no more than about 20 ms of the queue's work.
     */
    public Builder prefetch(int prefetch) {
      this.prefetch = prefetch;
      return this;
    }

    /**
     * How long a job claimed ahead may wait for a slot before it goes back for another worker.
     * Default 100 ms.
     */
    public Builder prefetchMaxWait(Duration prefetchMaxWait) {
      this.prefetchMaxWait = prefetchMaxWait;
      return this;
    }

    /**
     * @throws InvalidConfigException naming the first bad value
     */
    public WorkerConfig build() {
      return new WorkerConfig(
          workerId == null ? generateWorkerId() : workerId,
          queues,
          pollInterval,
          lease,
          heartbeatInterval == null && lease != null ? lease.dividedBy(5) : heartbeatInterval,
          rescueInterval,
          drainTimeout,
          defaultTimeout,
          maxClaimBatch,
          completerBatch,
          retryBaseDelay,
          retryMaxDelay,
          completerRetryLimit,
          retention,
          pruneInterval,
          historyAfter,
          rescuerEnabled,
          clock,
          maxResultBytes,
          listeners,
          List.copyOf(schedules.values()),
          schedulerInterval,
          prefetch,
          prefetchMaxWait);
    }
  }
}
