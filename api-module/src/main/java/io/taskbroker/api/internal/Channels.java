package io.taskbroker.api.internal;

/** The NOTIFY channels of the schema (see db/migration). */
public final class Channels {
  /** Payload: a queue name, or {@code *} for several queues. */
  public static final String NEW_JOB = "taskbroker_new_job";

  /** Payload: {@code id:status} pairs joined by commas, for jobs that reached a final state. */
  public static final String JOB_EVENTS = "taskbroker_job_events";

  /** Payload: JSON {@code {"action":"cancel","job_id":..,"worker_id":..}}. */
  public static final String CONTROL = "taskbroker_control";

  private Channels() {}
}
