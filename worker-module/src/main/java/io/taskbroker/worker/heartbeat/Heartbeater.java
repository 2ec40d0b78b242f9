package io.taskbroker.worker.heartbeat;

import io.taskbroker.common.DatabaseException;
import io.taskbroker.common.sql.HeartbeatEntry;
import io.taskbroker.common.sql.WorkerRepository;
import io.taskbroker.worker.executor.ActiveJobs;
import io.taskbroker.worker.executor.RunningJob;
import io.taskbroker.worker.internal.PeriodicTask;
import io.taskbroker.worker.internal.Supervisor;
import io.taskbroker.worker.registration.Registration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
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
 * <p>Thread-safe; start and stop are idempotent.
 */
public final class Heartbeater {
  private static final Logger LOG = LoggerFactory.getLogger(Heartbeater.class);

  private final WorkerRepository repository;
  private final String workerId;
  private final ActiveJobs active;
  private final Duration lease;
  private final Registration registration;
  private final Consumer<RunningJob> release;
  private final PeriodicTask task;
  private boolean failing;

  /**
   * @param release frees the slot of a job given up because it is no longer ours
   * @param unit the supervised unit the heartbeat's thread is
   */
  public Heartbeater(
      WorkerRepository repository,
      String workerId,
      ActiveJobs active,
      Duration interval,
      Duration lease,
      Registration registration,
      Consumer<RunningJob> release,
      Supervisor.Unit unit) {
    this.repository = repository;
    this.workerId = workerId;
    this.active = active;
    this.lease = lease;
    this.registration = registration;
    this.release = release;
    this.task = new PeriodicTask("heartbeat", interval, 0, unit, this::beat);
  }

  public void start() {
    task.start();
  }

  public void stop() {
    task.stop();
  }

  /** Beats now (after a reconnect, or when a control message may have been missed). */
  public void beatSoon() {
    task.runSoon();
  }

  void beat() {
    Collection<RunningJob> jobs = active.snapshot();
    List<HeartbeatEntry> entries = new ArrayList<>(jobs.size());
    List<RunningJob.Progress> taken = new ArrayList<>(jobs.size());
    for (RunningJob job : jobs) {
      RunningJob.Progress progress = job.takeProgress();
      taken.add(progress);
      entries.add(
          new HeartbeatEntry(
              job.claim(),
              progress == null ? null : progress.fraction(),
              progress == null ? null : progress.message()));
    }
    Map<UUID, Boolean> held;
    try {
      held = repository.heartbeat(workerId, entries, lease);
      registration.touch();
      if (failing) {
        LOG.info("Heartbeat works again; {} job(s) held", held.size());
        failing = false;
      }
    } catch (DatabaseException e) {
      int i = 0;
      for (RunningJob job : jobs) {
        job.restoreProgress(taken.get(i++));
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
      Boolean cancelRequested = held.get(job.id());
      if (cancelRequested == null) {
        if (job.decide()) {
          LOG.warn(
              "Job {} ({}) is no longer this worker's (its lease expired and it was rescued, or"
                  + " it was handed back); interrupting the plugin and dropping its outcome",
              job.id(),
              job.job().plugin());
          job.cancel("lost the lease", false);
          release.accept(job);
        }
      } else if (cancelRequested && !job.isCancelledByRequest()) {
        LOG.info(
            "Job {} ({}): cancel requested; interrupting the plugin", job.id(), job.job().plugin());
        job.cancel("cancelled by request", true);
      }
    }
  }
}
