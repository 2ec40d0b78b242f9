package io.taskbroker.api.internal;

import io.taskbroker.api.spi.JobLifecycleListener;
import io.taskbroker.common.NewJob;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client's {@link JobLifecycleListener}s, told of its submits. What a listener throws (anything
 * but a VirtualMachineError) is logged once per listener, then at DEBUG, and never reaches the
 * submitter: the jobs are in by then. Thread-safe; immutable but for the set of reported listeners.
 */
public final class SubmitListeners {
  private static final Logger LOG = LoggerFactory.getLogger(SubmitListeners.class);

  private final List<JobLifecycleListener> listeners;
  private final Map<JobLifecycleListener, Boolean> reported = new ConcurrentHashMap<>();

  public SubmitListeners(List<JobLifecycleListener> listeners) {
    this.listeners = List.copyOf(listeners);
  }

  /** The jobs of {@code batch} got these ids (same order). */
  public void submitted(List<NewJob> batch, List<UUID> ids) {
    if (listeners.isEmpty()) {
      return;
    }
    for (JobLifecycleListener listener : listeners) {
      try {
        for (int i = 0; i < ids.size(); i++) {
          NewJob job = batch.get(i);
          listener.submitted(ids.get(i), job.queue(), job.plugin());
        }
      } catch (VirtualMachineError e) {
        throw e;
      } catch (Exception | Error e) {
        if (reported.putIfAbsent(listener, Boolean.TRUE) == null) {
          LOG.error(
              "Job lifecycle listener {} threw from submitted; ignored (the jobs are submitted),"
                  + " and further failures of this listener are logged at DEBUG only",
              listener.getClass().getName(),
              e);
        } else {
          LOG.debug("Listener {} threw from submitted: {}", listener.getClass().getName(), e);
        }
      }
    }
  }
}
