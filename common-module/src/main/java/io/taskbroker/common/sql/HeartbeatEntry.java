package io.taskbroker.common.sql;

import java.util.Objects;

/**
 * A held job for one heartbeat, with the latest progress its plugin reported (null: none new).
 *
 * <p>The values must be ones the jobs table stores, checked here rather than by the heartbeat
 * statement: that statement carries every job of the worker, and one value it refuses would cost
 * all of them their lease.
 *
 * @param progress null, or a number from 0 to 1
 * @param progressMessage null, or text without the NUL character (PostgreSQL text cannot hold it)
 */
public record HeartbeatEntry(ClaimRef claim, Float progress, String progressMessage) {
  public HeartbeatEntry {
    Objects.requireNonNull(claim, "claim");
    if (progress != null && !(progress >= 0f && progress <= 1f)) {
      throw new IllegalArgumentException("progress must be between 0 and 1, got " + progress);
    }
    if (progressMessage != null && progressMessage.indexOf('\u0000') >= 0) {
      throw new IllegalArgumentException("a progress message cannot hold the NUL character");
    }
  }
}
