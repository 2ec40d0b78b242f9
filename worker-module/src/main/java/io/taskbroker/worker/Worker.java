package io.taskbroker.worker;

import io.taskbroker.api.backend.ShutdownReport;
import io.taskbroker.api.spi.LocalWakeups;
import io.taskbroker.common.Database;
import io.taskbroker.common.sql.JobRepository;
import io.taskbroker.common.sql.RescuedJob;
import io.taskbroker.common.sql.WorkerRegistration;
import io.taskbroker.common.sql.WorkerRepository;
import io.taskbroker.worker.completer.Completer;
import io.taskbroker.worker.executor.ActiveJobs;
import io.taskbroker.worker.executor.Backoff;
import io.taskbroker.worker.executor.JobExecutor;
import io.taskbroker.worker.executor.Outcomes;
import io.taskbroker.worker.executor.RunningJob;
import io.taskbroker.worker.heartbeat.Heartbeater;
import io.taskbroker.worker.internal.JobListeners;
import io.taskbroker.worker.internal.PeriodicTask;
import io.taskbroker.worker.internal.Service;
import io.taskbroker.worker.internal.Supervisor;
import io.taskbroker.worker.maintenance.HistoryMover;
import io.taskbroker.worker.maintenance.Pruner;
import io.taskbroker.worker.maintenance.Rescuer;
import io.taskbroker.worker.notify.WorkerNotifications;
import io.taskbroker.worker.plugins.PluginRegistry;
import io.taskbroker.worker.producer.Producer;
import io.taskbroker.worker.registration.Registration;
import io.taskbroker.worker.scheduler.Scheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker: the composition root that wires one producer per queue, the executor, the completer,
 * the heartbeater, the rescuer, the pruner and the LISTEN connection, and runs them until {@link
 * #shutdown(Duration)}.
 *
 * <p>Lifecycle of a job here: a producer claims it (one slot) and hands it to the executor with its
 * way back → the executor runs it and turns its outcome into a write for the completer, which frees
 * the slot while its backlog is small → the completer writes the outcome, fenced, and the job
 * leaves the worker (its slot freed now if not before). The heartbeater extends its lease
 * meanwhile. No event goes through this class: it only wires the units, starts them in order
 * ({@link Service}) and stops them as the sequence {@link #shutdown(Duration, HandBack)} reads.
 * Thread-safe; shutdown is idempotent.
 *
 * <p>Supervised: every background unit reports its progress to a {@link Supervisor}. An {@code
 * Error} on a unit's thread stops the worker at once ({@link #health()} says {@code FAILED} and
 * why; its unfinished jobs leave it with the attempt spent); it never stays half-alive, claiming
 * jobs it can no longer finish.
 */
public final class Worker implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
  // A producer may be inside a claim statement; the completer drains what is queued; the rest
  // stop at once unless a run is in progress.
  private static final Duration PRODUCER_STOP = Duration.ofSeconds(10);
  private static final Duration COMPLETER_STOP = Duration.ofSeconds(10);
  private static final Duration UNIT_STOP = Duration.ofSeconds(10);

  private final WorkerConfig config;
  private final WorkerRepository repository;
  private final ActiveJobs active = new ActiveJobs();
  private final Map<String, Producer> producers = new LinkedHashMap<>();
  private final JobExecutor executor;
  private final Completer completer;
  private final Heartbeater heartbeater;
  private final Registration registration;
  private final Rescuer rescuer;
  private final Pruner pruner;
  private final HistoryMover historyMover;
  private final WorkerNotifications notifications;
  private final Duration listenTimeout;
  private final LocalWakeups wakeups;
  private final List<LocalWakeups.Registration> localWakeups = new ArrayList<>();
  private final Object lifecycle = new Object();
  private ShutdownReport shutdownReport;
  private final Supervisor supervisor;
  private final JobListeners listeners;
  // Every unit but the producers, in start order.
  private final List<Service> background = new ArrayList<>();
  private final Scheduler scheduler;

  /**
   * Builds every unit, starting none.
   *
   * @param jobRunner runs each job's pipeline; null for a thread per job (tests pass one that runs
   *     them when the test says)
   */
  private Worker(
      Database database, WorkerConfig config, PluginRegistry plugins, Executor jobRunner) {
    this.config = config;
    this.repository = new WorkerRepository(database);
    this.listenTimeout = database.config().connectTimeout();
    this.wakeups = LocalWakeups.of(database);
    String id = config.workerId();
    this.listeners = JobListeners.of(config.listeners(), id);
    this.supervisor = new Supervisor(id, config.clock(), this::unitDied);
    supervisor.onHealthChange(listeners::unitHealthChanged);
    Outcomes outcomes =
        new Outcomes(
            id,
            Backoff.of(config.retryBaseDelay(), config.retryMaxDelay()),
            config.clock(),
            config.maxResultBytes());
    this.completer =
        new Completer(
            repository,
            new Completer.Settings(
                id,
                config.completerBatch(),
                config.completerRetryLimit(),
                2 * config.totalConcurrency()),
            outcomes,
            listeners,
            config.clock(),
            active::size,
            supervisor.unit("completer", config.completerRetryLimit().plusMinutes(1)));
    this.executor =
        new JobExecutor(
            plugins,
            outcomes,
            completer,
            listeners,
            config.clock(),
            config.defaultTimeout(),
            jobRunner);
    io.taskbroker.common.sql.QueueRepository queueSettings =
        new io.taskbroker.common.sql.QueueRepository(database);
    for (Map.Entry<String, Integer> queue : config.queues().entrySet()) {
      String name = queue.getKey();
      producers.put(
          name,
          new Producer(
              new Producer.Settings(
                  id,
                  name,
                  queue.getValue(),
                  plugins.claimFilter(),
                  config.lease(),
                  config.pollInterval(),
                  config.maxClaimBatch(),
                  config.prefetchLimit(),
                  config.prefetchMaxWait()),
              repository,
              queueSettings,
              active,
              executor,
              listeners,
              config.clock(),
              supervisor.unit("producer-" + name, stallBound(config.pollInterval()))));
    }
    List<String> pluginNames = new ArrayList<>(plugins.names());
    if (plugins.acceptsAnyPlugin()) {
      pluginNames.add("*");
    }
    this.registration =
        new Registration(
            repository,
            new WorkerRegistration(
                id,
                WorkerConfig.hostName(),
                ProcessHandle.current().pid(),
                config.queues(),
                pluginNames,
                config.totalConcurrency()),
            supervisor);
    this.heartbeater =
        new Heartbeater(
            new Heartbeater.Settings(id, config.heartbeatInterval(), config.lease()),
            repository,
            active,
            registration,
            listeners,
            supervisor.unit("heartbeat", stallBound(config.heartbeatInterval())));
    Duration staleWorker = max(config.lease().multipliedBy(4), Duration.ofMinutes(1));
    this.rescuer =
        config.rescuerEnabled()
            ? new Rescuer(
                repository,
                config.rescueInterval(),
                staleWorker,
                listeners,
                supervisor.unit("rescuer", stallBound(config.rescueInterval())))
            : null;
    // Both maintenance units share one repository (stateless).
    JobRepository maintenanceJobs = new JobRepository(database);
    this.pruner =
        config.retention() == null
            ? null
            : new Pruner(
                maintenanceJobs,
                config.retention(),
                config.pruneInterval(),
                supervisor.unit("pruner", stallBound(config.pruneInterval())));
    this.historyMover =
        config.historyAfter() == null
            ? null
            : new HistoryMover(
                maintenanceJobs,
                config.historyAfter(),
                supervisor.unit(
                    "history-mover", stallBound(HistoryMover.interval(config.historyAfter()))));
    // The notifier's threads wait between notifications: they have no rounds to watch (polling
    // covers a silent one), but a death on them stops the worker like any other unit's.
    Supervisor.Unit notifier = supervisor.unit("notifier", Duration.ofDays(36_500));
    this.notifications =
        new WorkerNotifications(
            database, id, producers, this::cancelRequested, heartbeater::beatSoon, notifier);
    this.scheduler =
        new Scheduler(
            new io.taskbroker.common.sql.ScheduleRepository(database),
            config.schedules(),
            config.schedulerInterval(),
            config.clock(),
            supervisor.unit("scheduler", stallBound(config.schedulerInterval())));
    // Reports units that stopped going round; cheap (no SQL), so it runs with the heartbeat.
    PeriodicTask watchdog =
        new PeriodicTask(
            "watchdog",
            config.heartbeatInterval(),
            0,
            supervisor.unit("watchdog", stallBound(config.heartbeatInterval())),
            supervisor::watch);
    // Start order; shutdown stops them in reverse, so the registration goes last (row deleted,
    // or marked failed) and the LISTEN connection outlives the units a cancel reaches.
    background.add(registration);
    background.add(Service.of("notifier", notifications::start, within -> notifications.stop()));
    background.add(completer);
    background.add(heartbeater);
    background.add(watchdog);
    if (rescuer != null) {
      background.add(rescuer);
    }
    if (pruner != null) {
      background.add(pruner);
    }
    if (historyMover != null) {
      background.add(historyMover);
    }
    background.add(scheduler);
    background.add(executor);
  }

  /** How long a unit whose loop goes round every {@code interval} may go without a round. */
  private static Duration stallBound(Duration interval) {
    return max(interval.multipliedBy(5), Duration.ofMinutes(1));
  }

  /**
   * Registers the worker and starts every unit. The schema must be migrated already.
   *
   * @throws io.taskbroker.common.DatabaseException when the database cannot be reached
   */
  public static Worker start(Database database, WorkerConfig config, PluginRegistry plugins) {
    Worker worker = new Worker(database, config, plugins, null);
    worker.startUnits();
    return worker;
  }

  /**
   * A worker whose units are built but never started (tests: a worker moved by hand steps the real
   * producer, executor, completer and rescuer on its own thread). Jobs run through {@code
   * jobRunner}.
   */
  static Worker manual(
      Database database, WorkerConfig config, PluginRegistry plugins, Executor jobRunner) {
    return new Worker(database, config, plugins, Objects.requireNonNull(jobRunner, "jobRunner"));
  }

  Producer producer(String queue) {
    return Objects.requireNonNull(producers.get(queue), queue);
  }

  Completer completer() {
    return completer;
  }

  Optional<Rescuer> rescuer() {
    return Optional.ofNullable(rescuer);
  }

  private void startUnits() {
    // Declared schedules first, before any thread runs: a refused one stops the start cleanly.
    scheduler.declare();
    // The registration first: a database out of reach fails the start before any thread runs.
    background.forEach(Service::start);
    warnIfAutovacuumOff();
    // The producers' first claim must come after LISTEN is up: a job submitted between that
    // claim and the LISTEN would otherwise wait for the next poll.
    if (!notifications.awaitListening(listenTimeout)) {
      LOG.warn(
          "Worker {}: LISTEN is not up after {}; new jobs are found by polling until it is",
          config.workerId(),
          listenTimeout);
    }
    for (Producer producer : producers.values()) {
      producer.start();
      localWakeups.add(wakeups.register(producer.queue(), producer::localSubmit));
    }
    LOG.info(
        "Worker {} started: queues {}, lease {}, poll every {}",
        config.workerId(),
        config.queues(),
        config.lease(),
        config.pollInterval());
  }

  private void warnIfAutovacuumOff() {
    try {
      if (!repository.autovacuumOn()) {
        LOG.warn(
            "autovacuum is off on this PostgreSQL server: the dead rows every claimed and finished"
                + " job leaves pile up in taskbroker.job_queue and its claim index, and claims slow"
                + " down as they do. Turn autovacuum on, or run VACUUM taskbroker.job_queue"
                + " regularly.");
      }
    } catch (RuntimeException e) {
      LOG.debug("Could not read the autovacuum setting", e);
    }
  }

  public String id() {
    return config.workerId();
  }

  public WorkerConfig config() {
    return config;
  }

  /**
   * Whether the LISTEN connection is up, so a new job wakes a producer at once rather than at the
   * next poll. It connects in the background after {@link #start}.
   */
  public boolean isListening() {
    return notifications.isConnected();
  }

  /**
   * The worker's health and each unit's: {@code HEALTHY}; {@code UNHEALTHY} while a unit keeps
   * failing or has stalled; {@code FAILED} once a unit died of an Error (the worker then stops
   * itself; {@link WorkerHealth#failure()} says why); {@code STOPPED} after {@link #shutdown}.
   */
  public WorkerHealth health() {
    return supervisor.health();
  }

  /** Whether the worker runs and every unit is well. */
  public boolean isHealthy() {
    return health().isHealthy();
  }

  /**
   * Test hook: the unit's own thread throws {@code error} at its next round, as if its machinery
   * had failed there. Units: {@code completer}, {@code heartbeat}, {@code producer-<queue>}, {@code
   * rescuer}, {@code pruner}, {@code history-mover}, {@code watchdog}, {@code notifier} (at its
   * next notification).
   */
  void injectFault(String unit, Error error) {
    supervisor
        .find(unit)
        .orElseThrow(() -> new IllegalArgumentException("no unit " + unit))
        .injectFault(error);
  }

  /**
   * A unit died of an Error: the worker cannot be trusted to finish what it claims. Stop at once,
   * on a thread of its own (the dying thread may be one the shutdown waits for), and not as a
   * daemon, so the hand-back is not cut short by the JVM exiting.
   */
  private void unitDied(String unit, Throwable error) {
    Thread stop =
        new Thread(() -> shutdown(Duration.ZERO, HandBack.SPEND), "taskbroker-failed-stop");
    stop.setDaemon(false);
    stop.start();
  }

  /** Jobs this worker holds now (running, or finished with the outcome not yet written). */
  public int runningCount() {
    return active.size();
  }

  /** Timeouts scheduled for jobs running under one; a finished job's goes at once. */
  public int timeoutsPending() {
    return executor.timeoutsPending();
  }

  /** Jobs claimed ahead and waiting for a slot, across the queues (included in runningCount). */
  public int prefetchedCount() {
    return producers.values().stream().mapToInt(Producer::buffered).sum();
  }

  /**
   * Jobs claimed ahead and given back unstarted because they waited {@link
   * WorkerConfig#prefetchMaxWait()} for a slot, across the queues, since the worker started.
   */
  public long givenBackCount() {
    return producers.values().stream().mapToLong(Producer::givenBackCount).sum();
  }

  /** Slots taken now, over every queue: jobs claimed and not yet handed back their slot. */
  public int busySlots() {
    return producers.values().stream().mapToInt(Producer::inFlight).sum();
  }

  /** Slots over every queue: the sum of the queues' concurrency. */
  public int totalSlots() {
    return config.totalConcurrency();
  }

  /** Outcomes decided and not yet written (the completer's backlog). */
  public int completerBacklog() {
    return completer.backlog();
  }

  public long completedWrites() {
    return completer.writtenCount();
  }

  public long rejectedWrites() {
    return completer.rejectedCount();
  }

  /** How many claim statements the producers ran (tests: forged NOTIFYs must not multiply). */
  public long claimCount() {
    return producers.values().stream().mapToLong(Producer::claimCount).sum();
  }

  /**
   * Runs one rescue pass now (tests and tools); returns how many jobs it took back.
   *
   * @throws io.taskbroker.common.DatabaseException when the pass failed
   */
  public int rescueNow() {
    return rescuer == null ? 0 : rescuer.rescueOnce();
  }

  private void cancelRequested(UUID jobId) {
    // Decided at once, like a timeout: the job ends cancelled even if the plugin ignores it.
    active.get(jobId).ifPresent(job -> executor.cancel(job, "cancelled by request"));
  }

  /** Shuts down with the configured drain timeout. */
  public ShutdownReport shutdown() {
    return shutdown(config.drainTimeout());
  }

  /**
   * Shuts down gracefully: jobs not finished within {@code drainTimeout} go back to pending with
   * their attempt refunded. See {@link #shutdown(Duration, HandBack)}.
   */
  public ShutdownReport shutdown(Duration drainTimeout) {
    return shutdown(drainTimeout, HandBack.REFUND);
  }

  /**
   * Stops claiming, lets running jobs finish within {@code drainTimeout}, writes their outcomes,
   * then takes every job still running under this worker off it, so another worker takes it: with
   * {@link HandBack#REFUND} back to pending without spending an attempt (a stop someone asked for),
   * with {@link HandBack#SPEND} with the attempt spent and a {@code worker_exit} entry (the process
   * is dying unasked: {@code System.exit}, an Error), failed when attempts are used up. Then
   * deletes the worker's row, unless the worker failed: that row stays, marked {@code failed}. A
   * worker that failed always spends. Idempotent.
   */
  public ShutdownReport shutdown(Duration drainTimeout, HandBack handBack) {
    synchronized (lifecycle) {
      if (shutdownReport != null) {
        return shutdownReport;
      }
      HandBack mode = supervisor.hasFailed() ? HandBack.SPEND : handBack;
      LOG.info(
          "Worker {} shutting down: no new claims; waiting up to {} for {} running job(s)",
          id(),
          drainTimeout,
          active.size());
      stopClaiming();
      boolean drained = drain(drainTimeout);
      List<UUID> abandoned = drained ? List.of() : giveUpUndecided();
      List<UUID> unwritten = writeDecidedOutcomes();
      List<UUID> handedBack = handBack(mode);
      stopBackgroundUnits();
      shutdownReport = report(mode, abandoned, unwritten, handedBack);
      return shutdownReport;
    }
  }

  /** Step 1: no submit of this JVM wakes a producer any more, and every producer stops. */
  private void stopClaiming() {
    localWakeups.forEach(LocalWakeups.Registration::close);
    producers.values().forEach(producer -> producer.stop(PRODUCER_STOP));
  }

  /** Step 2: lets running jobs finish and their outcomes be written, until the deadline. */
  private boolean drain(Duration drainTimeout) {
    try {
      return active.awaitEmpty(System.nanoTime() + drainTimeout.toNanos());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * Step 3: the jobs whose outcome is still undecided are given up: their plugins interrupted,
   * their late outcomes dropped; the hand-back takes their rows.
   */
  private List<UUID> giveUpUndecided() {
    List<UUID> abandoned = new ArrayList<>();
    for (RunningJob job : active.snapshot()) {
      if (job.decide()) {
        job.cancel("worker shutting down", false);
        abandoned.add(job.id());
        job.leave();
      }
    }
    return abandoned;
  }

  /**
   * Step 4: outcomes already decided are written before the hand-back, which only touches rows
   * still running under this worker. Returns the jobs still running in the table: those the
   * completer could not write (the database is away), or neither wrote nor gave up in time.
   */
  private List<UUID> writeDecidedOutcomes() {
    completer.stop(COMPLETER_STOP);
    List<UUID> unwritten = new ArrayList<>(completer.givenUpWhileStopping());
    active.snapshot().forEach(job -> unwritten.add(job.id()));
    return unwritten;
  }

  /**
   * Step 5: every job still running under this worker leaves it for another worker: refunded (a
   * stop someone asked for) or spent (the process is dying unasked). Null when the database could
   * not be reached: the leases run out instead.
   */
  private List<UUID> handBack(HandBack mode) {
    try {
      return mode == HandBack.REFUND
          ? repository.handBack(id())
          : repository.abandon(id(), exitReason()).stream().map(RescuedJob::jobId).toList();
    } catch (RuntimeException e) {
      LOG.error(
          "Worker {}: could not hand back its running jobs ({}); they return to pending when"
              + " their lease expires",
          id(),
          e.getMessage());
      return null;
    }
  }

  /**
   * Step 6: the background units stop in reverse start order; the registration, started first,
   * stops last (the worker's row deleted, or kept marked failed when a unit died).
   */
  private void stopBackgroundUnits() {
    for (int i = background.size() - 1; i >= 0; i--) {
      background.get(i).stop(UNIT_STOP);
    }
    supervisor.stopped();
  }

  /** Step 7: what the shutdown left behind, logged once and returned. */
  private ShutdownReport report(
      HandBack mode, List<UUID> abandoned, List<UUID> unwritten, List<UUID> handedBack) {
    List<UUID> left;
    if (handedBack != null) {
      left = handedBack.isEmpty() ? abandoned : handedBack;
    } else {
      Set<UUID> stranded = new LinkedHashSet<>(abandoned);
      stranded.addAll(unwritten);
      left = List.copyOf(stranded);
    }
    if (handedBack != null && !handedBack.isEmpty() && mode == HandBack.SPEND) {
      LOG.warn(
          "Worker {} stopped; {} unfinished job(s) taken off it with their attempt spent ({}):"
              + " {}",
          id(),
          handedBack.size(),
          exitReason(),
          handedBack);
    } else if (handedBack != null && !handedBack.isEmpty()) {
      LOG.warn(
          "Worker {} stopped; {} unfinished job(s) handed back to pending for another worker: {}",
          id(),
          handedBack.size(),
          handedBack);
    } else if (!left.isEmpty()) {
      LOG.warn(
          "Worker {} stopped; {} unfinished job(s) could not be handed back and return to"
              + " pending when their lease expires: {}",
          id(),
          left.size(),
          left);
    } else {
      LOG.info("Worker {} stopped; every running job finished", id());
    }
    return new ShutdownReport(left);
  }

  private String exitReason() {
    WorkerHealth health = supervisor.health();
    if (health.failedUnit().isPresent()) {
      return "its unit "
          + health.failedUnit().get()
          + " died of "
          + health.failure().map(Throwable::toString).orElse("an Error");
    }
    return "the process exited without a stop request (System.exit, or a fatal error)";
  }

  @Override
  public void close() {
    shutdown();
  }

  private static Duration max(Duration a, Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }
}
