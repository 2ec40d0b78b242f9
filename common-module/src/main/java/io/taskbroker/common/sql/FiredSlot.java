package io.taskbroker.common.sql;

import java.time.Instant;
import java.util.UUID;

/**
 * One slot {@code taskbroker.fire_schedule} fired.
 *
 * @param jobId its job; null when the slot was skipped (overlap {@code skip})
 * @param outcome {@code enqueued} or {@code skipped_overlap}
 */
public record FiredSlot(Instant slot, UUID jobId, String outcome) {}
