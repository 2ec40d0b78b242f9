package io.taskbroker.common;

import java.time.Instant;

/**
 * Which jobs a bulk action (retry, cancel, delete) touches: every non-null criterion must match. An
 * empty filter matches nothing for cancel and delete (they refuse it) unless it is {@link
 * #everyJob()}; retry takes an empty filter as every failed and cancelled job. Immutable.
 *
 * @param status one status, or null for every status the action takes
 * @param finishedSince jobs that finished at or after this instant
 * @param everyJob an explicit "no criterion, really every job" (only from {@link #all()})
 */
public record JobFilter(
    String queue, String plugin, JobStatus status, Instant finishedSince, boolean everyJob) {
  public JobFilter {
    if (queue != null && queue.isEmpty()) {
      throw new InvalidJobException("filter: queue must not be empty (null for any)");
    }
    if (plugin != null && plugin.isEmpty()) {
      throw new InvalidJobException("filter: plugin must not be empty (null for any)");
    }
    if (everyJob && (queue != null || plugin != null || status != null || finishedSince != null)) {
      throw new InvalidJobException("filter: everyJob takes no other criterion");
    }
  }

  /** Every job the action takes and the caller may change, explicitly. */
  public static JobFilter all() {
    return new JobFilter(null, null, null, null, true);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Whether no criterion is given (and it is not {@link #all()}). */
  public boolean isEmpty() {
    return !everyJob && queue == null && plugin == null && status == null && finishedSince == null;
  }

  /** Not thread-safe. */
  public static final class Builder {
    private String queue;
    private String plugin;
    private JobStatus status;
    private Instant finishedSince;

    private Builder() {}

    public Builder queue(String queue) {
      this.queue = queue;
      return this;
    }

    public Builder plugin(String plugin) {
      this.plugin = plugin;
      return this;
    }

    public Builder status(JobStatus status) {
      this.status = status;
      return this;
    }

    public Builder finishedSince(Instant finishedSince) {
      this.finishedSince = finishedSince;
      return this;
    }

    public JobFilter build() {
      return new JobFilter(queue, plugin, status, finishedSince, false);
    }
  }
}
