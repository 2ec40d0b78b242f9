package io.taskbroker.common.sql;

import io.taskbroker.common.ScheduleDefinition.CatchUp;
import java.time.Duration;
import java.time.Instant;

/**
 * A schedule the scheduler's tick found due: what it needs to compute the slots.
 *
 * @param nextRunAt the due slot; null when the next slot has not been computed yet
 */
public record DueSchedule(
    String name,
    String cron,
    String timeZone,
    CatchUp catchUp,
    Duration catchUpWindow,
    Duration jitter,
    Instant nextRunAt) {}
