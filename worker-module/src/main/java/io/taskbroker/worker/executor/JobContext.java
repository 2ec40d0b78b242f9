package io.taskbroker.worker.executor;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.api.plugin.JobCancelledException;
import io.taskbroker.api.plugin.TaskContext;
import java.util.UUID;

/** The {@link TaskContext} of one attempt, backed by its {@link RunningJob}. Thread-safe. */
final class JobContext implements TaskContext {
  private final RunningJob running;

  JobContext(RunningJob running) {
    this.running = running;
  }

  @Override
  public UUID jobId() {
    return running.id();
  }

  @Override
  public String plugin() {
    return running.job().plugin();
  }

  @Override
  public String queue() {
    return running.job().queue();
  }

  @Override
  public int attempt() {
    return running.job().attempt();
  }

  @Override
  public int maxAttempts() {
    return running.job().maxAttempts();
  }

  @Override
  public ObjectNode payload() {
    return running.job().payload().deepCopy();
  }

  @Override
  public ObjectNode metadata() {
    return running.job().metadata().deepCopy();
  }

  @Override
  public void reportProgress(double fraction, String message) {
    if (Double.isNaN(fraction)) {
      throw new IllegalArgumentException("progress must be a number between 0 and 1");
    }
    float clamped = (float) Math.max(0, Math.min(1, fraction));
    running.reportProgress(clamped, message);
  }

  @Override
  public boolean isCancelled() {
    return running.isCancelled();
  }

  @Override
  public void throwIfCancelled() {
    String reason = running.cancelReason();
    if (reason != null) {
      throw new JobCancelledException(reason);
    }
  }
}
