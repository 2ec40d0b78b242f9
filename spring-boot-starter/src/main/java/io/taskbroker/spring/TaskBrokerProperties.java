package io.taskbroker.spring;

import io.taskbroker.common.ScheduleDefinition;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The {@code taskbroker.*} properties of the Spring Boot starter. Bound once at startup; the
 * auto-configuration turns them into taskbroker's validated config records, whose {@code build()}
 * names a bad value. The defaults are taskbroker's own ({@code WorkerConfig}'s, which a test holds
 * them to). Not thread-safe (Spring binds it before anyone reads it).
 */
@ConfigurationProperties(prefix = "taskbroker")
public class TaskBrokerProperties {
  /** Whether to configure taskbroker at all. */
  private boolean enabled = true;

  /**
   * Whether to apply taskbroker's schema migrations at startup (its own Flyway history table
   * taskbroker.taskbroker_schema_history and classpath location; the application's Flyway never
   * sees them).
   */
  private boolean migrate = true;

  private final Client client = new Client();

  private final Worker worker = new Worker();

  /** Recurring schedules by name, upserted at startup. */
  private final Map<String, Schedule> schedules = new LinkedHashMap<>();

  public boolean isEnabled() {
    return enabled;
  }

  public void setEnabled(boolean enabled) {
    this.enabled = enabled;
  }

  public boolean isMigrate() {
    return migrate;
  }

  public void setMigrate(boolean migrate) {
    this.migrate = migrate;
  }

  public Client getClient() {
    return client;
  }

  public Worker getWorker() {
    return worker;
  }

  public Map<String, Schedule> getSchedules() {
    return schedules;
  }

  /** The client (submit, await, cancel). */
  public static class Client {
    /**
     * How often await re-reads awaited jobs in case a notification was lost (LISTEN does the real
     * work).
     */
    private Duration awaitPollInterval = Duration.ofSeconds(5);

    /**
     * Whether a submit committed on its own wakes this JVM's embedded worker at once, ahead of the
     * NOTIFY.
     */
    private boolean wakeLocalWorkers = true;

    public Duration getAwaitPollInterval() {
      return awaitPollInterval;
    }

    public void setAwaitPollInterval(Duration awaitPollInterval) {
      this.awaitPollInterval = awaitPollInterval;
    }

    public boolean isWakeLocalWorkers() {
      return wakeLocalWorkers;
    }

    public void setWakeLocalWorkers(boolean wakeLocalWorkers) {
      this.wakeLocalWorkers = wakeLocalWorkers;
    }
  }

  /** The embedded worker, which runs the application's TaskPlugin beans. */
  public static class Worker {
    /** Whether to run a worker in this application, started and stopped with its context. */
    private boolean enabled = false;

    /** The worker's id in taskbroker.workers; unset: host-pid-random. */
    private String id;

    /** Queue name to how many of its jobs this worker runs at once. Unset: default=10. */
    private Map<String, Integer> queues = new LinkedHashMap<>();

    /** How often a queue is polled without a notification (jittered). */
    private Duration pollInterval = Duration.ofSeconds(2);

    /** How long a claimed job stays this worker's without a heartbeat. */
    private Duration lease = Duration.ofSeconds(15);

    /** How often leases are extended; at most half the lease. Unset: a fifth of the lease. */
    private Duration heartbeatInterval;

    /** How often this worker looks for jobs whose worker died. */
    private Duration rescueInterval = Duration.ofSeconds(3);

    /** How long shutdown lets running jobs finish before handing them back to the queue. */
    private Duration drainTimeout = Duration.ofSeconds(30);

    /** The longest one attempt may run when neither the job nor its plugin says; unset: none. */
    private Duration defaultTimeout;

    /** The first retry's delay; it doubles each attempt, with jitter. */
    private Duration retryBaseDelay = Duration.ofSeconds(1);

    /** The longest retry delay. */
    private Duration retryMaxDelay = Duration.ofHours(1);

    /** How long finished jobs are kept before the pruner deletes them. */
    private Duration retention = Duration.ofDays(7);

    /**
     * How long a finished job stays in taskbroker.job_queue before the history mover takes it to
     * the partitioned history (taskbroker.jobs shows both).
     */
    private Duration historyAfter = Duration.ofMinutes(1);

    public boolean isEnabled() {
      return enabled;
    }

    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    public String getId() {
      return id;
    }

    public void setId(String id) {
      this.id = id;
    }

    public Map<String, Integer> getQueues() {
      return queues;
    }

    public void setQueues(Map<String, Integer> queues) {
      this.queues = queues;
    }

    public Duration getPollInterval() {
      return pollInterval;
    }

    public void setPollInterval(Duration pollInterval) {
      this.pollInterval = pollInterval;
    }

    public Duration getLease() {
      return lease;
    }

    public void setLease(Duration lease) {
      this.lease = lease;
    }

    public Duration getHeartbeatInterval() {
      return heartbeatInterval;
    }

    public void setHeartbeatInterval(Duration heartbeatInterval) {
      this.heartbeatInterval = heartbeatInterval;
    }

    public Duration getRescueInterval() {
      return rescueInterval;
    }

    public void setRescueInterval(Duration rescueInterval) {
      this.rescueInterval = rescueInterval;
    }

    public Duration getDrainTimeout() {
      return drainTimeout;
    }

    public void setDrainTimeout(Duration drainTimeout) {
      this.drainTimeout = drainTimeout;
    }

    public Duration getDefaultTimeout() {
      return defaultTimeout;
    }

    public void setDefaultTimeout(Duration defaultTimeout) {
      this.defaultTimeout = defaultTimeout;
    }

    public Duration getRetryBaseDelay() {
      return retryBaseDelay;
    }

    public void setRetryBaseDelay(Duration retryBaseDelay) {
      this.retryBaseDelay = retryBaseDelay;
    }

    public Duration getRetryMaxDelay() {
      return retryMaxDelay;
    }

    public void setRetryMaxDelay(Duration retryMaxDelay) {
      this.retryMaxDelay = retryMaxDelay;
    }

    public Duration getRetention() {
      return retention;
    }

    public void setRetention(Duration retention) {
      this.retention = retention;
    }

    public Duration getHistoryAfter() {
      return historyAfter;
    }

    public void setHistoryAfter(Duration historyAfter) {
      this.historyAfter = historyAfter;
    }
  }

  /** One recurring schedule; its name is its key under taskbroker.schedules. */
  public static class Schedule {
    /**
     * Five cron fields (minute hour day-of-month month day-of-week), six with leading seconds, or
     * an interval such as "every 5 minutes".
     */
    private String cron;

    /** The plugin each run's job asks for. */
    private String plugin;

    /** IANA time zone the cron fields are local times in. */
    private String timeZone = ScheduleDefinition.DEFAULT_TIME_ZONE;

    /** The queue of each run's job. */
    private String queue;

    /** The payload of each run's job (a JSON object). */
    private Map<String, Object> payload = new LinkedHashMap<>();

    /** Priority of each run's job; lower runs first. */
    private Integer priority;

    /** Attempts each run's job may spend. */
    private Integer maxAttempts;

    /** Per-attempt limit of each run's job. */
    private Duration timeout;

    /** After a time with no worker: none, latest or all missed slots. */
    private ScheduleDefinition.CatchUp catchUp;

    /** With catch-up all, how far back missed slots are still run. */
    private Duration catchUpWindow;

    /** When the previous run is still pending or running: allow, skip or cancel-previous. */
    private ScheduleDefinition.Overlap overlap;

    /** Each run's job starts up to this much after its slot, at random. */
    private Duration jitter;

    public String getCron() {
      return cron;
    }

    public void setCron(String cron) {
      this.cron = cron;
    }

    public String getPlugin() {
      return plugin;
    }

    public void setPlugin(String plugin) {
      this.plugin = plugin;
    }

    public String getTimeZone() {
      return timeZone;
    }

    public void setTimeZone(String timeZone) {
      this.timeZone = timeZone;
    }

    public String getQueue() {
      return queue;
    }

    public void setQueue(String queue) {
      this.queue = queue;
    }

    public Map<String, Object> getPayload() {
      return payload;
    }

    public void setPayload(Map<String, Object> payload) {
      this.payload = payload;
    }

    public Integer getPriority() {
      return priority;
    }

    public void setPriority(Integer priority) {
      this.priority = priority;
    }

    public Integer getMaxAttempts() {
      return maxAttempts;
    }

    public void setMaxAttempts(Integer maxAttempts) {
      this.maxAttempts = maxAttempts;
    }

    public Duration getTimeout() {
      return timeout;
    }

    public void setTimeout(Duration timeout) {
      this.timeout = timeout;
    }

    public ScheduleDefinition.CatchUp getCatchUp() {
      return catchUp;
    }

    public void setCatchUp(ScheduleDefinition.CatchUp catchUp) {
      this.catchUp = catchUp;
    }

    public Duration getCatchUpWindow() {
      return catchUpWindow;
    }

    public void setCatchUpWindow(Duration catchUpWindow) {
      this.catchUpWindow = catchUpWindow;
    }

    public ScheduleDefinition.Overlap getOverlap() {
      return overlap;
    }

    public void setOverlap(ScheduleDefinition.Overlap overlap) {
      this.overlap = overlap;
    }

    public Duration getJitter() {
      return jitter;
    }

    public void setJitter(Duration jitter) {
      this.jitter = jitter;
    }
  }
}
