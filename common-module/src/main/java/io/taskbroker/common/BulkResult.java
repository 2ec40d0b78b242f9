package io.taskbroker.common;

/**
 * What a bulk action on a filter did: how many jobs it touched, and whether it stayed (false: it
 * would have touched more than the caller allowed, and was rolled back; the count is exact either
 * way). Immutable.
 */
public record BulkResult(long touched, boolean applied) {
  public BulkResult {
    if (touched < 0) {
      throw new IllegalArgumentException("touched must not be negative, got " + touched);
    }
  }
}
