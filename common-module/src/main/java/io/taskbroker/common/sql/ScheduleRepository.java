package io.taskbroker.common.sql;

import io.taskbroker.common.Database;
import io.taskbroker.common.InvalidScheduleException;
import io.taskbroker.common.Json;
import io.taskbroker.common.Schedule;
import io.taskbroker.common.ScheduleDefinition;
import io.taskbroker.common.ScheduleDefinition.CatchUp;
import io.taskbroker.common.ScheduleDefinition.Overlap;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * The statements on {@code taskbroker.schedules}: manage them through the V4 SQL functions (which
 * validate and run with the owner's rights), list them, and the scheduler's tick (due rows, fire a
 * schedule's slots, mark one invalid). Each method is one statement in its own transaction.
 * Stateless apart from the Jdbi; thread-safe.
 *
 * <p>Not a user API: the client's {@code Schedules} and the worker's scheduler wrap it.
 */
public final class ScheduleRepository {
  private static final String UPSERT = Sql.load("upsert_schedule");
  private static final String LIST = Sql.load("list_schedules");
  private static final String PAUSE = Sql.load("pause_schedule");
  private static final String RESUME = Sql.load("resume_schedule");
  private static final String DELETE = Sql.load("delete_schedule");
  private static final String TRIGGER = Sql.load("trigger_schedule");
  private static final String DUE = Sql.load("due_schedules");
  private static final String FIRE = Sql.load("fire_schedule");
  private static final String MARK_INVALID = Sql.load("mark_schedule_invalid");

  private static final String INVALID_PARAMETER_VALUE = "22023";

  private final Jdbi jdbi;

  public ScheduleRepository(Database database) {
    this.jdbi = database.jdbi();
  }

  /**
   * Creates or changes the schedule.
   *
   * @return {@code created}, {@code updated} or {@code unchanged}
   * @throws InvalidScheduleException when the database refuses a field (named in the message)
   */
  public String upsert(ScheduleDefinition schedule) {
    return call(
        handle ->
            handle
                .createQuery(UPSERT)
                .bind("name", schedule.name())
                .bind("cron", schedule.cron())
                .bind("plugin", schedule.plugin())
                .bind("payload", Json.writeStorable(schedule.payload(), "payload"))
                .bind("queue", schedule.queue())
                .bind("time_zone", schedule.timeZone())
                .bind("priority", schedule.priority())
                .bind("max_attempts", schedule.maxAttempts())
                .bind(
                    "timeout_ms",
                    schedule.timeout() == null
                        ? null
                        : (Integer) (int) schedule.timeout().toMillis())
                .bind("metadata", Json.writeStorable(schedule.metadata(), "metadata"))
                .bind("catch_up", schedule.catchUp().dbValue())
                .bind("catch_up_window_ms", schedule.catchUpWindow().toMillis())
                .bind("overlap", schedule.overlap().dbValue())
                .bind("jitter_ms", schedule.jitter().toMillis())
                .mapTo(String.class)
                .one());
  }

  public List<Schedule> list() {
    return call(
        handle ->
            handle
                .createQuery(LIST)
                .bind("name", (String) null)
                .map((rs, ctx) -> schedule(rs))
                .list());
  }

  public Optional<Schedule> get(String name) {
    return call(
        handle ->
            handle.createQuery(LIST).bind("name", name).map((rs, ctx) -> schedule(rs)).findOne());
  }

  /** Pauses; false when there is no such schedule. */
  public boolean pause(String name) {
    return booleanCall(PAUSE, name);
  }

  /** Resumes from now on; false when there is no such schedule. */
  public boolean resume(String name) {
    return booleanCall(RESUME, name);
  }

  /** Deletes; false when there was no such schedule. */
  public boolean delete(String name) {
    return booleanCall(DELETE, name);
  }

  /** One run now; empty when there is no such schedule. */
  public Optional<UUID> trigger(String name) {
    return call(
        handle ->
            handle
                .createQuery(TRIGGER)
                .bind("name", name)
                .map((rs, ctx) -> rs.getObject("job_id", UUID.class))
                .findOne()
                .map(Optional::ofNullable)
                .flatMap(id -> id));
  }

  /** The scheduler's tick: schedules due by {@code now}, or whose next slot is not computed. */
  public List<DueSchedule> due(Instant now, int limit) {
    return call(
        handle ->
            handle
                .createQuery(DUE)
                .bind("now_ms", now.toEpochMilli())
                .bind("limit", limit)
                .map(
                    (rs, ctx) ->
                        new DueSchedule(
                            rs.getString("name"),
                            rs.getString("cron"),
                            rs.getString("time_zone"),
                            CatchUp.parse(rs.getString("catch_up")),
                            Duration.ofMillis(rs.getLong("catch_up_window_ms")),
                            Duration.ofMillis(rs.getLong("jitter_ms")),
                            instant(rs, "next_run_at")))
                .list());
  }

  /**
   * Fires {@code slots} (whole seconds, ascending; each job's run_at alongside) and moves the next
   * slot from {@code due} to {@code next}, unless another worker got there first (then nothing, and
   * an empty list).
   *
   * @param due the next slot the tick read (null: not computed yet)
   * @param next the next slot after these (null: the schedule has no further slot)
   */
  public List<FiredSlot> fire(
      String name, Instant due, List<Instant> slots, List<Instant> runAts, Instant next) {
    if (slots.size() != runAts.size()) {
      throw new IllegalArgumentException(slots.size() + " slots but " + runAts.size() + " run_ats");
    }
    List<Long> slotSeconds = slots.stream().map(Instant::getEpochSecond).toList();
    List<Long> runAtMillis = runAts.stream().map(Instant::toEpochMilli).toList();
    return call(
        handle ->
            handle
                .createQuery(FIRE)
                .bind("name", name)
                .bind("due_ms", due == null ? null : (Long) due.toEpochMilli())
                .bindArray("slot_s", Long.class, slotSeconds)
                .bindArray("run_at_ms", Long.class, runAtMillis)
                .bind("next_ms", next == null ? null : (Long) next.toEpochMilli())
                .map(
                    (rs, ctx) ->
                        new FiredSlot(
                            instant(rs, "fired_slot"),
                            rs.getObject("fired_job_id", UUID.class),
                            rs.getString("fired_outcome")))
                .list());
  }

  /** Records why no worker can compute the slots; false when the definition changed meanwhile. */
  public boolean markInvalid(String name, String cron, String timeZone, String error) {
    return call(
        handle ->
            handle
                .createQuery(MARK_INVALID)
                .bind("name", name)
                .bind("cron", cron)
                .bind("time_zone", timeZone)
                .bind("error", error)
                .mapTo(Boolean.class)
                .one());
  }

  private boolean booleanCall(String sql, String name) {
    return call(handle -> handle.createQuery(sql).bind("name", name).mapTo(Boolean.class).one());
  }

  private static Schedule schedule(ResultSet rs) throws SQLException {
    int timeoutMs = rs.getInt("timeout_ms");
    Duration timeout = rs.wasNull() ? null : Duration.ofMillis(timeoutMs);
    // Read as stored, not through the builder: a row is shown even if it would not validate now.
    ScheduleDefinition definition =
        new ScheduleDefinition(
            rs.getString("name"),
            rs.getString("cron"),
            rs.getString("time_zone"),
            rs.getString("plugin"),
            rs.getString("queue"),
            Json.parseObject(rs.getString("payload"), "payload"),
            Json.parseObject(rs.getString("metadata"), "metadata"),
            rs.getInt("priority"),
            rs.getInt("max_attempts"),
            timeout,
            CatchUp.parse(rs.getString("catch_up")),
            Duration.ofMillis(rs.getLong("catch_up_window_ms")),
            Overlap.parse(rs.getString("overlap")),
            Duration.ofMillis(rs.getLong("jitter_ms")));
    return new Schedule(
        definition,
        rs.getBoolean("paused"),
        instant(rs, "next_run_at"),
        instant(rs, "last_run_at"),
        rs.getObject("last_job_id", UUID.class),
        rs.getString("last_error"),
        instant(rs, "created_at"),
        instant(rs, "updated_at"));
  }

  private static Instant instant(ResultSet rs, String column) throws SQLException {
    OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
    return value == null ? null : value.toInstant();
  }

  private <T> T call(HandleCallback<T, RuntimeException> callback) {
    try {
      return jdbi.withHandle(callback);
    } catch (JdbiException e) {
      InvalidScheduleException invalid = invalidField(e);
      if (invalid != null) {
        throw invalid;
      }
      throw Repositories.translate(e);
    }
  }

  /** A field the SQL functions refused ("field: message", SQLSTATE 22023), or null. */
  private static InvalidScheduleException invalidField(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof PSQLException sql && INVALID_PARAMETER_VALUE.equals(sql.getSQLState())) {
        ServerErrorMessage server = sql.getServerErrorMessage();
        String message = server == null ? sql.getMessage() : server.getMessage();
        int colon = message == null ? -1 : message.indexOf(": ");
        if (colon > 0) {
          return new InvalidScheduleException(
              message.substring(0, colon), message.substring(colon + 2), e);
        }
        return new InvalidScheduleException("schedule", String.valueOf(message), e);
      }
    }
    return null;
  }
}
