package io.taskbroker.worker.internal;

import io.taskbroker.api.spi.JobEvent;
import io.taskbroker.api.spi.JobLifecycleListener;
import io.taskbroker.api.spi.JobLifecycleListener.OutcomeKind;
import io.taskbroker.common.Job;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's {@link JobLifecycleListener}s behind one guard: every call to every listener is
 * wrapped, so what a listener throws (any Exception, any Error but a VirtualMachineError, which is
 * the JVM's trouble, not the listener's) is logged once per listener, with its trace, and then only
 * at DEBUG, and the job goes on. Callers fire events after the step they report is done, never
 * before an outcome is written. Thread-safe; immutable once built.
 */
public final class JobListeners {
  private static final Logger LOG = LoggerFactory.getLogger(JobListeners.class);
  private static final JobListeners NONE = new JobListeners(List.of(), "");

  private final List<JobLifecycleListener> listeners;
  private final String workerId;
  private final Map<JobLifecycleListener, Boolean> reported = new ConcurrentHashMap<>();

  private JobListeners(List<JobLifecycleListener> listeners, String workerId) {
    this.listeners = List.copyOf(listeners);
    this.workerId = workerId;
  }

  public static JobListeners of(List<JobLifecycleListener> listeners, String workerId) {
    return listeners.isEmpty() ? NONE : new JobListeners(listeners, workerId);
  }

  /** No listeners (units built on their own, in tests and tools). */
  public static JobListeners none() {
    return NONE;
  }

  public JobEvent event(Job job) {
    return new JobEvent(
        job.id(),
        job.queue(),
        job.plugin(),
        job.attempt(),
        job.maxAttempts(),
        job.runAt(),
        job.workerId() == null ? workerId : job.workerId());
  }

  public void claimed(Job job) {
    if (!listeners.isEmpty()) {
      JobEvent event = event(job);
      each("claimed", listener -> listener.claimed(event));
    }
  }

  public void started(Job job) {
    if (!listeners.isEmpty()) {
      JobEvent event = event(job);
      each("started", listener -> listener.started(event));
    }
  }

  public void finished(Job job, OutcomeKind outcome, Duration run, Duration queueLatency) {
    if (!listeners.isEmpty()) {
      JobEvent event = event(job);
      each("finished", listener -> listener.finished(event, outcome, run, queueLatency));
    }
  }

  public void writeRejected(Job job) {
    if (!listeners.isEmpty()) {
      JobEvent event = event(job);
      each("writeRejected", listener -> listener.writeRejected(event));
    }
  }

  public void rescued(List<UUID> jobIds) {
    if (!listeners.isEmpty() && !jobIds.isEmpty()) {
      List<UUID> ids = List.copyOf(jobIds);
      each("rescued", listener -> listener.rescued(ids));
    }
  }

  public void unitHealthChanged(String unit, String state) {
    each("unitHealthChanged", listener -> listener.unitHealthChanged(unit, state));
  }

  private void each(String event, Consumer<JobLifecycleListener> call) {
    for (JobLifecycleListener listener : listeners) {
      try {
        call.accept(listener);
      } catch (VirtualMachineError e) {
        throw e;
      } catch (Exception | Error e) {
        if (reported.putIfAbsent(listener, Boolean.TRUE) == null) {
          LOG.error(
              "Worker {}: job lifecycle listener {} threw from {}; ignored (jobs are not affected),"
                  + " and further failures of this listener are logged at DEBUG only",
              workerId,
              listener.getClass().getName(),
              event,
              e);
        } else {
          LOG.debug("Listener {} threw from {}: {}", listener.getClass().getName(), event, e);
        }
      }
    }
  }
}
