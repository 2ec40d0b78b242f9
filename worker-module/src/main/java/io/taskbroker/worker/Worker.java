package io.taskbroker.worker;

import io.taskbroker.api.backend.ShutdownReport;
import io.taskbroker.api.spi.LocalWakeups;
import io.taskbroker.common.Database;
import io.taskbroker.common.Job;
import io.taskbroker.common.sql.JobRepository;
import io.taskbroker.common.sql.RescuedJob;
import io.taskbroker.common.sql.WorkerRegistration;
import io.taskbroker.common.sql.WorkerRepository;
import io.taskbroker.worker.completer.Completer;
import io.taskbroker.worker.executor.ActiveJobs;
import io.taskbroker.worker.executor.Backoff;
import io.taskbroker.worker.executor.JobExecutor;
import io.taskbroker.worker.executor.RunningJob;
import io.taskbroker.worker.heartbeat.Heartbeater;
import io.taskbroker.worker.internal.PeriodicTask;
import io.taskbroker.worker.internal.Supervisor;
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
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker: the composition root that wires one producer per queue, the executor, the completer,
 * the heartbeater, the rescuer, the pruner and the LISTEN connection, and runs them until {@link
 * #shutdown(Duration)}.
 *
 * <p>Lifecycle of a job here: a producer claims it (one slot) → the executor runs it → its outcome
 * goes to the completer and the slot is freed → the completer writes the outcome, fenced, and the
 * job leaves the worker. The heartbeater extends its lease meanwhile. Thread-safe; shutdown is
 * idempotent.
 *
 * <p>Supervised: every background unit reports its progress to a {@link Supervisor}. An {@code
 * Error} on a unit's thread stops the worker at once ({@link #health()} says {@code FAILED} and
 * why; its unfinished jobs leave it with the attempt spent); it never stays half-alive, claiming
 * jobs it can no longer finish.
 */
public final class Worker implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Worker.class);

  private final WorkerConfig config;
  private final WorkerRepository repository;
  private final ActiveJobs active = new ActiveJobs();
  private final Map<String, Producer> producers = new LinkedHashMap<>();
  private final JobExecutor executor;
  private final Completer completer;
  private final int maxUnwritten;
  private final Heartbeater heartbeater;
  private final Registration registration;
  private final Rescuer rescuer;
  private final Pruner pruner;
  private final WorkerNotifications notifications;
  private final Duration listenTimeout;
  private final String databaseKey;
  private final List<LocalWakeups.Registration> localWakeups = new ArrayList<>();
  private final Object lifecycle = new Object();
  private ShutdownReport shutdownReport;
  private final Supervisor supervisor;
  private final PeriodicTask watchdog;
  private final Scheduler scheduler;

  private Worker(Database database, WorkerConfig config, PluginRegistry plugins) {
    this.config = config;
    this.repository = new WorkerRepository(database);
    this.listenTimeout = database.config().connectTimeout();
    this.databaseKey = database.config().jdbcUrl();
    String id = config.workerId();
    this.supervisor = new Supervisor(id, config.clock(), this::unitDied);
    this.completer =
        new Completer(
            repository,
            id,
            Backoff.of(config.retryBaseDelay(), config.retryMaxDelay()),
            config.completerBatch(),
            config.completerRetryLimit(),
            this::release,
            config.clock(),
            config.maxResultBytes(),
            supervisor.unit("completer", config.completerRetryLimit().plusMinutes(1)));
    this.executor = new JobExecutor(plugins, this::handOver, config.defaultTimeout());
    this.maxUnwritten = 2 * config.totalConcurrency();
    for (Map.Entry<String, Integer> queue : config.queues().entrySet()) {
      String name = queue.getKey();
      producers.put(
          name,
          new Producer(
              name,
              queue.getValue(),
              id,
              repository,
              plugins.claimFilter(),
              config.lease(),
              config.pollInterval(),
              config.maxClaimBatch(),
              job -> dispatch(job, name),
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
            repository,
            id,
            active,
            config.heartbeatInterval(),
            config.lease(),
            registration,
            this::release,
            supervisor.unit("heartbeat", stallBound(config.heartbeatInterval())));
    Duration staleWorker = max(config.lease().multipliedBy(4), Duration.ofMinutes(1));
    this.rescuer =
        config.rescuerEnabled()
            ? new Rescuer(
                repository,
                config.rescueInterval(),
                staleWorker,
                supervisor.unit("rescuer", stallBound(config.rescueInterval())))
            : null;
    this.pruner =
        config.retention() == null
            ? null
            : new Pruner(
                new JobRepository(database),
                config.retention(),
                config.pruneInterval(),
                supervisor.unit("pruner", stallBound(config.pruneInterval())));
    this.notifications =
        new WorkerNotifications(
            database, id, producers, this::cancelRequested, heartbeater::beatSoon);
    // The LISTEN thread blocks on its socket between notifications: it has no rounds to watch
    // (polling covers a silent one), but its death stops the worker like any other unit's.
    Supervisor.Unit notifier = supervisor.unit("notifier", Duration.ofDays(36_500));
    notifications.onDeath(notifier::died);
    this.scheduler =
        new Scheduler(
            new io.taskbroker.common.sql.ScheduleRepository(database),
            config.schedules(),
            config.schedulerInterval(),
            config.clock(),
            supervisor.unit("scheduler", stallBound(config.schedulerInterval())));
    // Reports units that stopped going round; cheap (no SQL), so it runs with the heartbeat.
    this.watchdog =
        new PeriodicTask(
            "watchdog",
            config.heartbeatInterval(),
            0,
            supervisor.unit("watchdog", stallBound(config.heartbeatInterval())),
            supervisor::watch);
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
    Worker worker = new Worker(database, config, plugins);
    worker.startUnits();
    return worker;
  }

  private void startUnits() {
    // Declared schedules first, before any thread runs: a refused one stops the start cleanly.
    scheduler.declare();
    registration.register();
    warnIfAutovacuumOff();
    notifications.start();
    completer.start();
    heartbeater.start();
    watchdog.start();
    if (rescuer != null) {
      rescuer.start();
    }
    if (pruner != null) {
      pruner.start();
    }
    scheduler.start();
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
      localWakeups.add(LocalWakeups.register(databaseKey, producer.queue(), producer::localSubmit));
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
                + " job leaves pile up in taskbroker.jobs and its claim index, and claims slow down"
                + " as they do. Turn autovacuum on, or run VACUUM taskbroker.jobs regularly.");
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
   * rescuer}, {@code pruner}, {@code watchdog}.
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

  private void dispatch(Job job, String queue) {
    RunningJob running = new RunningJob(job, queue);
    active.add(running);
    if (!job.isDecoded()) {
      failUndecodable(running);
      return;
    }
    executor.start(running);
  }

  /**
   * A claimed row this JVM cannot decode fails alone, at once, through the fenced completion path,
   * and for good: another attempt would read the same bytes. The rest of its batch runs.
   */
  private void failUndecodable(RunningJob running) {
    Job job = running.job();
    LOG.warn(
        "Job {} ({}): cannot decode the claimed row ({}); failing it without running it",
        job.id(),
        job.plugin(),
        job.decodeError());
    if (running.decide()) {
      handOver(
          running,
          new io.taskbroker.worker.executor.Outcome.Failed(
              io.taskbroker.worker.executor.Outcome.UNDECODABLE, job.decodeError(), null, false));
    }
  }

  /**
   * An outcome is decided: the completer writes it; meanwhile the job stays held (its lease is
   * still extended), but its slot is freed at once so the next claim overlaps this write instead of
   * waiting for it. Only while the completer keeps up: with too many outcomes unwritten (the
   * database is slow or away), slots are freed when written, and claiming stops.
   */
  private void handOver(RunningJob job, io.taskbroker.worker.executor.Outcome outcome) {
    completer.accept(job, outcome);
    if (completer.backlog() < maxUnwritten) {
      freeSlot(job);
    }
  }

  /** The job has left the worker: outcome written, rejected or given up, or the job lost. */
  private void release(RunningJob job) {
    active.remove(job);
    freeSlot(job);
  }

  private void freeSlot(RunningJob job) {
    if (job.freeSlot()) {
      Producer producer = producers.get(job.producerQueue());
      if (producer != null) {
        producer.release();
      }
    }
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
      boolean failed = supervisor.hasFailed();
      HandBack mode = failed ? HandBack.SPEND : handBack;
      LOG.info(
          "Worker {} shutting down: no new claims; waiting up to {} for {} running job(s)",
          id(),
          drainTimeout,
          active.size());
      localWakeups.forEach(LocalWakeups.Registration::close);
      producers.values().forEach(Producer::stop);
      boolean drained;
      try {
        drained = active.awaitEmpty(System.nanoTime() + drainTimeout.toNanos());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        drained = false;
      }
      List<UUID> abandoned = new ArrayList<>();
      if (!drained) {
        for (RunningJob job : active.snapshot()) {
          if (job.decide()) {
            job.cancel("worker shutting down", false);
            abandoned.add(job.id());
            release(job);
          }
        }
      }
      // Outcomes already decided are written before the hand-back, which only touches rows
      // still running under this worker. Those the completer cannot write (the database is
      // away) are still running in the table, as the abandoned ones are.
      List<UUID> unwritten = new ArrayList<>(completer.stop(Duration.ofSeconds(10)));
      // Still held after the completer stopped: an outcome it neither wrote nor gave up in time.
      active.snapshot().forEach(job -> unwritten.add(job.id()));
      List<UUID> handedBack = null;
      try {
        handedBack =
            mode == HandBack.REFUND
                ? repository.handBack(id())
                : repository.abandon(id(), exitReason()).stream().map(RescuedJob::jobId).toList();
      } catch (RuntimeException e) {
        LOG.error(
            "Worker {}: could not hand back its running jobs ({}); they return to pending when"
                + " their lease expires",
            id(),
            e.getMessage());
      }
      scheduler.stop();
      heartbeater.stop();
      watchdog.stop();
      if (rescuer != null) {
        rescuer.stop();
      }
      if (pruner != null) {
        pruner.stop();
      }
      notifications.stop();
      executor.stop();
      if (failed) {
        registration.markFailed();
      } else {
        registration.deregister();
      }
      supervisor.stopped();
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
      shutdownReport = new ShutdownReport(left);
      return shutdownReport;
    }
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
