package io.taskbroker.common.sql;

import io.taskbroker.common.JobStatus;
import java.util.UUID;

/** A job the rescuer took back from a lost worker, and where it went. */
public record RescuedJob(UUID jobId, JobStatus status, int attempt) {}
