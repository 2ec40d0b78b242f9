package io.taskbroker.common;

import java.util.Set;
import java.util.UUID;

/**
 * Filters and paging for listing jobs. Newest first; page with {@code afterId} (keyset: the last id
 * of the previous page) or {@code offset}. Immutable.
 *
 * @param bodies whether the listed jobs carry their payload, metadata, result, error and attempt
 *     history; without them ({@code false}) those are null and the errors an empty array, and a
 *     page of jobs whose results run to megabytes reads as fast as any other (a table of jobs shows
 *     none of them)
 */
public record JobQuery(
    Set<JobStatus> statuses,
    String queue,
    String plugin,
    int limit,
    int offset,
    UUID afterId,
    boolean bodies) {

  public static final int DEFAULT_LIMIT = 100;
  public static final int MAX_LIMIT = 10_000;

  /**
   * Validates every value, so a query made with this constructor is as sound as one from the {@link
   * Builder} (which only collects values).
   *
   * @throws InvalidJobException naming the first bad value
   */
  public JobQuery {
    if (limit < 1 || limit > MAX_LIMIT) {
      throw new InvalidJobException("limit must be between 1 and " + MAX_LIMIT + ", got " + limit);
    }
    if (offset < 0) {
      throw new InvalidJobException("offset must not be negative, got " + offset);
    }
    statuses = statuses == null ? Set.of() : Set.copyOf(statuses);
  }

  public static Builder builder() {
    return new Builder();
  }

  public static JobQuery all() {
    return builder().build();
  }

  /** Not thread-safe. */
  public static final class Builder {
    private Set<JobStatus> statuses = Set.of();
    private String queue;
    private String plugin;
    private int limit = DEFAULT_LIMIT;
    private int offset;
    private UUID afterId;
    private boolean bodies = true;

    private Builder() {}

    public Builder status(JobStatus... statuses) {
      this.statuses = Set.of(statuses);
      return this;
    }

    public Builder statuses(Set<JobStatus> statuses) {
      this.statuses = statuses;
      return this;
    }

    public Builder queue(String queue) {
      this.queue = queue;
      return this;
    }

    public Builder plugin(String plugin) {
      this.plugin = plugin;
      return this;
    }

    public Builder limit(int limit) {
      this.limit = limit;
      return this;
    }

    public Builder offset(int offset) {
      this.offset = offset;
      return this;
    }

    public Builder afterId(UUID afterId) {
      this.afterId = afterId;
      return this;
    }

    /** Whether the jobs carry payload, metadata, result, error and errors. Default true. */
    public Builder bodies(boolean bodies) {
      this.bodies = bodies;
      return this;
    }

    /**
     * @throws InvalidJobException naming the first bad value
     */
    public JobQuery build() {
      return new JobQuery(statuses, queue, plugin, limit, offset, afterId, bodies);
    }
  }
}
