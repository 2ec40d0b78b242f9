package io.taskbroker.worker.heartbeat;

import io.taskbroker.api.spi.JobLifecycleListener.OutcomeKind;
import io.taskbroker.common.DatabaseException;
import io.taskbroker.common.sql.HeartbeatEntry;
import io.taskbroker.common.sql.WorkerRepository;
import io.taskbroker.worker.executor.ActiveJobs;
import io.taskbroker.worker.executor.RunningJob;
import io.taskbroker.worker.internal.JobListeners;
import io.taskbroker.worker.internal.PeriodicTask;
import io.taskbroker.worker.internal.Service;
import io.taskbroker.worker.internal.StorableText;
import io.taskbroker.worker.internal.Supervisor;
import io.taskbroker.worker.registration.Registration;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every beat, in one statement, extends the lease of every job this worker holds and writes their
 * latest progress; then refreshes the worker's own row. The answer also says which jobs have a
 * cancel request (stored by {@code taskbroker.cancel}, so a lost control notification still reaches
 * the plugin) and which jobs are no longer ours (rescued while we were paused or cut off): those
 * plugins are interrupted and their slots freed, and their late outcome would be refused by the
 * fence anyway.
 *
 * <p>Each job's progress is checked before it joins the statement, and a statement refused anyway
 * is narrowed to the job at fault, whose progress alone is dropped: what one plugin reports never
 * costs the other jobs their leases.
 *
 * <p>Thread-safe; start and stop are idempotent.
 */
public final class Heartbeater implements Service {
  private static final Logger LOG = LoggerFactory.getLogger(Heartbeater.class);

  /**
   * The longest progress message stored; a longer one is cut and ends with a marker. A note for
   * people watching the job, written on every beat: it has no business being large.
   */
  public static final int MAX_PROGRESS_MESSAGE_CHARS = 1024;

  private final WorkerRepository repository;
  private final String workerId;
  private final ActiveJobs active;
  private final Duration lease;
  private final Registration registration;
  private final JobListeners listeners;
  private final PeriodicTask task;
  private boolean failing;

  /**
   * What a heartbeat does and how often.
   *
   * @param workerId whose jobs' leases it extends
   * @param interval how often it beats
   * @param lease how far each beat extends a lease
   */
  public record Settings(String workerId, Duration interval, Duration lease) {
    public Settings {
      if (workerId == null || interval == null || lease == null) {
        throw new IllegalArgumentException("heartbeat settings need a worker, interval and lease");
      }
      if (interval.isNegative() || interval.isZero() || interval.compareTo(lease) >= 0) {
        throw new IllegalArgumentException(
            "heartbeat interval must be positive and under the lease, got "
                + interval
                + " for a lease of "
                + lease);
      }
    }
  }

  /**
   * @param listeners told of a job found no longer ours ({@code LOST})
   * @param unit the supervised unit the heartbeat's thread is
   */
  public Heartbeater(
      Settings settings,
      WorkerRepository repository,
      ActiveJobs active,
      Registration registration,
      JobListeners listeners,
      Supervisor.Unit unit) {
    this.repository = repository;
    this.workerId = settings.workerId();
    this.active = active;
    this.lease = settings.lease();
    this.registration = registration;
    this.listeners = listeners;
    this.task = new PeriodicTask("heartbeat", settings.interval(), 0, unit, this::beat);
  }

  @Override
  public String name() {
    return task.name();
  }

  @Override
  public void start() {
    task.start();
  }

  @Override
  public void stop(Duration within) {
    task.stop(within);
  }

  /** Beats now (after a reconnect, or when a control message may have been missed). */
  public void beatSoon() {
    task.runSoon();
  }

  void beat() {
    Collection<RunningJob> jobs = active.snapshot();
    List<Beat> beats = new ArrayList<>(jobs.size());
    for (RunningJob job : jobs) {
      RunningJob.Progress progress = job.takeProgress();
      beats.add(new Beat(job, progress, entry(job, progress)));
    }
    Extended extended;
    try {
      extended = extend(beats);
      registration.touch();
      if (failing) {
        LOG.info("Heartbeat works again; {} job(s) held", extended.held().size());
        failing = false;
      }
    } catch (DatabaseException e) {
      for (Beat beat : beats) {
        beat.job().restoreProgress(beat.progress());
      }
      if (!failing) {
        LOG.warn(
            "Heartbeat failed ({}); {} job(s) keep running, but if the database stays away past"
                + " the lease ({}) they go to other workers",
            e.getMessage(),
            jobs.size(),
            lease);
        failing = true;
      }
      return;
    }
    for (RunningJob job : jobs) {
      if (extended.unknown().contains(job.id())) {
        continue;
      }
      Boolean cancelRequested = extended.held().get(job.id());
      if (cancelRequested == null) {
        if (job.decide()) {
          LOG.warn(
              "Job {} ({}) is no longer this worker's (its lease expired and it was rescued, or"
                  + " it was handed back); interrupting the plugin and dropping its outcome",
              job.id(),
              job.job().plugin());
          job.cancel("lost the lease", false);
          job.leave();
          listeners.finished(job.job(), OutcomeKind.LOST, ranFor(job), Duration.ZERO);
        }
      } else if (cancelRequested && !job.isDecided()) {
        job.requestCancel("cancelled by request");
      }
    }
  }

  private static Duration ranFor(RunningJob job) {
    Instant started = job.startedAt();
    return started == null ? Duration.ZERO : Duration.between(started, Instant.now());
  }

  /** One job's part of a beat: the progress taken from it, and the entry sent for it. */
  private record Beat(RunningJob job, RunningJob.Progress progress, HeartbeatEntry entry) {}

  /**
   * What a beat learnt: for each job still held, whether a cancel is requested; and the jobs whose
   * lease could not be extended for a reason of their own (neither held nor known to be lost).
   */
  private record Extended(Map<UUID, Boolean> held, Set<UUID> unknown) {}

  /**
   * Extends every lease in one statement. When the database refuses that statement for a reason
   * other than the connection (something in one job's progress), each job is beaten alone so the
   * refusal is narrowed to its job, whose progress is then dropped and whose lease is still
   * extended: one job's progress never costs another job its lease.
   *
   * @throws DatabaseException when the connection is lost (nothing learnt; try next beat)
   */
  private Extended extend(List<Beat> beats) {
    List<HeartbeatEntry> entries = beats.stream().map(Beat::entry).toList();
    String cause;
    try {
      return new Extended(repository.heartbeat(workerId, entries, lease), Set.of());
    } catch (DatabaseException e) {
      if (e.isConnectionLoss() || e.isTransient()) {
        throw e;
      }
      cause = e.getMessage();
    } catch (RuntimeException e) {
      // Binding the statement failed before it ran (the driver refused a value).
      cause = e.toString();
    }
    LOG.warn(
        "Heartbeat of {} job(s) refused ({}); extending each lease alone",
        beats.size(),
        StorableText.truncate(cause, MAX_PROGRESS_MESSAGE_CHARS));
    Map<UUID, Boolean> held = new HashMap<>();
    Set<UUID> unknown = new HashSet<>();
    for (Beat beat : beats) {
      UUID id = beat.job().id();
      try {
        held.putAll(beatAlone(beat.entry()));
        continue;
      } catch (DatabaseException e) {
        if (e.isConnectionLoss()) {
          throw e;
        }
        cause = e.getMessage();
      } catch (RuntimeException e) {
        cause = e.toString();
      }
      HeartbeatEntry leaseOnly = new HeartbeatEntry(beat.entry().claim(), null, null);
      try {
        held.putAll(beatAlone(leaseOnly));
        LOG.warn(
            "Job {} ({}): its progress could not be stored ({}); dropped it, the lease is extended",
            id,
            beat.job().job().plugin(),
            StorableText.truncate(cause, MAX_PROGRESS_MESSAGE_CHARS));
      } catch (DatabaseException e) {
        if (e.isConnectionLoss()) {
          throw e;
        }
        LOG.error(
            "Job {}: its lease could not be extended ({}); it goes to another worker if this"
                + " lasts past the lease",
            id,
            e.getMessage());
        beat.job().restoreProgress(beat.progress());
        unknown.add(id);
      }
    }
    return new Extended(held, unknown);
  }

  private Map<UUID, Boolean> beatAlone(HeartbeatEntry entry) {
    return repository.heartbeat(workerId, List.of(entry), lease);
  }

  /**
   * The entry for one job, its progress checked before it joins the batch: a fraction that is not a
   * number is dropped and one outside 0..1 clamped (the table's CHECK refuses it, and with it the
   * whole statement); the message is bounded and cleaned of what PostgreSQL text refuses.
   */
  static HeartbeatEntry entry(RunningJob job, RunningJob.Progress progress) {
    if (progress == null) {
      return new HeartbeatEntry(job.claim(), null, null);
    }
    float fraction = progress.fraction();
    Float stored = Float.isNaN(fraction) ? null : Math.max(0f, Math.min(1f, fraction));
    String message = StorableText.of(progress.message(), MAX_PROGRESS_MESSAGE_CHARS);
    return new HeartbeatEntry(job.claim(), stored, message);
  }
}
