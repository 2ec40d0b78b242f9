package io.taskbroker.api;

import io.taskbroker.common.InvalidScheduleException;
import io.taskbroker.common.Schedule;
import io.taskbroker.common.ScheduleDefinition;
import io.taskbroker.common.sql.ScheduleRepository;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/**
 * Recurring schedules through the client: the SQL functions of {@code taskbroker.schedules}
 * (upsert, pause, resume, delete, trigger) and reading the rows. The workers' schedulers fire the
 * slots; this only manages the definitions. From {@link TaskBrokerClient#schedules()}. Stateless
 * apart from the repository; thread-safe.
 *
 * <p>The cron is checked here for its shape only (the worker parses it fully, and records a cron it
 * refuses in {@link Schedule#lastError()}); a worker that declares the schedule in its {@code
 * WorkerConfig} checks it fully before it starts.
 */
public final class Schedules {
  private final ScheduleRepository repository;

  Schedules(ScheduleRepository repository) {
    this.repository = repository;
  }

  /**
   * Creates or changes a schedule. An identical definition writes nothing; a changed cron or zone
   * restarts it from now; pausing is not part of the definition.
   *
   * @return {@code created}, {@code updated} or {@code unchanged}
   * @throws InvalidScheduleException naming the field the database refused
   */
  public String upsert(ScheduleDefinition schedule) {
    return repository.upsert(schedule);
  }

  /** Every schedule, by name. */
  public List<Schedule> list() {
    return repository.list();
  }

  public Optional<Schedule> get(String name) {
    return repository.get(name);
  }

  /** Stops firing slots until {@link #resume}; false when there is no such schedule. */
  public boolean pause(String name) {
    return repository.pause(name);
  }

  /** Fires again from the next slot after now (no catch-up of the pause); false when none. */
  public boolean resume(String name) {
    return repository.resume(name);
  }

  /** Deletes the schedule (its jobs stay); false when there was none. */
  public boolean delete(String name) {
    return repository.delete(name);
  }

  /** Enqueues one run now, outside the slots; empty when there is no such schedule. */
  public Optional<UUID> trigger(String name) {
    return repository.trigger(name);
  }
}
