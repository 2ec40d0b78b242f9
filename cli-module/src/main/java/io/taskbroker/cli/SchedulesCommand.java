package io.taskbroker.cli;

import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.cli.internal.CliContext;
import io.taskbroker.cli.internal.CliFailure;
import io.taskbroker.cli.internal.CliJson;
import io.taskbroker.cli.internal.Clients;
import io.taskbroker.cli.internal.Converters.DurationConverter;
import io.taskbroker.cli.internal.DatabaseOptions;
import io.taskbroker.cli.internal.ExitCodes;
import io.taskbroker.cli.internal.Table;
import io.taskbroker.cli.internal.Terminal;
import io.taskbroker.cli.internal.Times;
import io.taskbroker.cli.internal.VerboseOption;
import io.taskbroker.common.InvalidJobException;
import io.taskbroker.common.InvalidScheduleException;
import io.taskbroker.common.Json;
import io.taskbroker.common.Schedule;
import io.taskbroker.common.ScheduleDefinition;
import io.taskbroker.common.ScheduleDefinition.CatchUp;
import io.taskbroker.common.ScheduleDefinition.Overlap;
import io.taskbroker.worker.scheduler.Slots;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code taskbroker schedules}: list, add, pause, resume, remove and trigger recurring schedules.
 */
@Command(
    name = "schedules",
    mixinStandardHelpOptions = true,
    description = {
      "Recurring schedules (taskbroker.schedules): the workers fire their slots, one job each.",
      "Without a subcommand: list."
    },
    subcommands = {
      SchedulesCommand.ListCommand.class,
      SchedulesCommand.AddCommand.class,
      SchedulesCommand.PauseCommand.class,
      SchedulesCommand.ResumeCommand.class,
      SchedulesCommand.RemoveCommand.class,
      SchedulesCommand.TriggerCommand.class
    })
final class SchedulesCommand implements Callable<Integer> {
  private final CliContext context;

  @Mixin DatabaseOptions database;
  @Mixin VerboseOption verbose;

  SchedulesCommand(CliContext context) {
    this.context = context;
  }

  @Override
  public Integer call() {
    return list(context, database, false);
  }

  static int list(CliContext context, DatabaseOptions database, boolean json) {
    List<Schedule> schedules;
    try (TaskBrokerClient client = Clients.open(database, context)) {
      schedules = Clients.read("the schedules", () -> client.schedules().list());
    }
    if (json) {
      context.out().println(CliJson.write(schedules.stream().map(SchedulesCommand::json).toList()));
      return ExitCodes.OK;
    }
    if (schedules.isEmpty()) {
      context.out().println("(no schedules)");
      return ExitCodes.OK;
    }
    table(schedules).print(context.out());
    return ExitCodes.OK;
  }

  /** The schedules as a table: also what {@code stats} shows. */
  static Table table(List<Schedule> schedules) {
    Table table =
        new Table("NAME", "CRON", "ZONE", "PLUGIN", "QUEUE", "STATE", "NEXT", "LAST", "POLICIES");
    for (Schedule schedule : schedules) {
      ScheduleDefinition definition = schedule.definition();
      String state =
          schedule.lastError() != null
              ? "invalid: " + schedule.lastError()
              : schedule.paused() ? "paused" : "active";
      table.row(
          schedule.name(),
          definition.cron(),
          definition.timeZone(),
          definition.plugin(),
          definition.queue(),
          state,
          schedule.nextRunAt() == null ? "(next tick)" : Times.local(schedule.nextRunAt()),
          schedule.lastRunAt() == null ? null : Times.local(schedule.lastRunAt()),
          "catch-up "
              + definition.catchUp().dbValue()
              + ", overlap "
              + definition.overlap().dbValue());
    }
    return table;
  }

  static Map<String, Object> json(Schedule schedule) {
    ScheduleDefinition definition = schedule.definition();
    Map<String, Object> map = new LinkedHashMap<>();
    map.put("name", definition.name());
    map.put("cron", definition.cron());
    map.put("time_zone", definition.timeZone());
    map.put("plugin", definition.plugin());
    map.put("queue", definition.queue());
    map.put("payload", definition.payload());
    map.put("metadata", definition.metadata());
    map.put("priority", definition.priority());
    map.put("max_attempts", definition.maxAttempts());
    map.put("timeout_ms", definition.timeout() == null ? null : definition.timeout().toMillis());
    map.put("catch_up", definition.catchUp().dbValue());
    map.put("catch_up_window_ms", definition.catchUpWindow().toMillis());
    map.put("overlap", definition.overlap().dbValue());
    map.put("jitter_ms", definition.jitter().toMillis());
    map.put("paused", schedule.paused());
    map.put("next_run_at", Times.iso(schedule.nextRunAt()));
    map.put("last_run_at", Times.iso(schedule.lastRunAt()));
    map.put("last_job_id", schedule.lastJobId() == null ? null : schedule.lastJobId().toString());
    map.put("last_error", schedule.lastError());
    return map;
  }

  /** The name a subcommand was given, or a usage error. */
  static String name(String name) {
    if (name == null || name.isBlank()) {
      throw new CliFailure(ExitCodes.USAGE, "name: a schedule needs a name");
    }
    return name;
  }

  static CliFailure noSuchSchedule(String name) {
    return new CliFailure(ExitCodes.ERROR, "no schedule named '" + Terminal.safe(name) + "'");
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List the schedules.")
  static final class ListCommand implements Callable<Integer> {
    private final CliContext context;

    @Option(names = "--json", description = "Print the schedules as a JSON array.")
    boolean json;

    @Mixin DatabaseOptions database;
    @Mixin VerboseOption verbose;

    ListCommand(CliContext context) {
      this.context = context;
    }

    @Override
    public Integer call() {
      return list(context, database, json);
    }
  }

  @Command(
      name = "add",
      mixinStandardHelpOptions = true,
      description = {
        "Create or change a schedule (taskbroker.upsert_schedule). Prints created, updated or"
            + " unchanged.",
        "CRON: 5 fields (minute hour day-of-month month day-of-week), 6 with a leading seconds"
            + " field, or an interval: 'every 30 seconds', 'every 5 minutes', 'every hour'."
      })
  static final class AddCommand implements Callable<Integer> {
    private final CliContext context;

    @Parameters(index = "0", paramLabel = "NAME", description = "The schedule's name.")
    String name;

    @Parameters(index = "1", paramLabel = "CRON", description = "When it fires (quote it).")
    String cron;

    @Parameters(index = "2", paramLabel = "PLUGIN", description = "The plugin each job runs.")
    String plugin;

    @Option(names = "--payload", paramLabel = "JSON", description = "The job payload (default {}).")
    String payload = "{}";

    @Option(names = "--metadata", paramLabel = "JSON", description = "Job metadata (default {}).")
    String metadata = "{}";

    @Option(names = "--queue", description = "Default: default.")
    String queue = "default";

    @Option(names = "--time-zone", paramLabel = "ZONE", description = "IANA zone; default UTC.")
    String timeZone = "UTC";

    @Option(names = "--priority", description = "Lower runs first; default 0.")
    int priority;

    @Option(names = "--max-attempts", description = "Default 3.")
    int maxAttempts = 3;

    @Option(
        names = "--timeout",
        converter = DurationConverter.class,
        description = "Per-attempt limit (e.g. 30s).")
    Duration timeout;

    @Option(
        names = "--catch-up",
        paramLabel = "POLICY",
        description = "After a time with no worker: none (default), latest or all.")
    String catchUp = "none";

    @Option(
        names = "--catch-up-window",
        converter = DurationConverter.class,
        description = "With --catch-up all: how far back; default 1h.")
    Duration catchUpWindow = ScheduleDefinition.DEFAULT_CATCH_UP_WINDOW;

    @Option(
        names = "--overlap",
        paramLabel = "POLICY",
        description = "While the previous run is live: allow (default), skip or cancel_previous.")
    String overlap = "allow";

    @Option(
        names = "--jitter",
        converter = DurationConverter.class,
        description = "Random delay up to this added to each job's run_at; default 0.")
    Duration jitter = Duration.ZERO;

    @Mixin DatabaseOptions database;
    @Mixin VerboseOption verbose;

    AddCommand(CliContext context) {
      this.context = context;
    }

    @Override
    public Integer call() {
      ScheduleDefinition definition;
      try {
        definition =
            ScheduleDefinition.builder(name, cron, plugin)
                .payload(json(payload, "payload"))
                .metadata(json(metadata, "metadata"))
                .queue(queue)
                .timeZone(timeZone)
                .priority(priority)
                .maxAttempts(maxAttempts)
                .timeout(timeout)
                .catchUp(CatchUp.parse(catchUp.toLowerCase(Locale.ROOT)))
                .catchUpWindow(catchUpWindow)
                .overlap(Overlap.parse(overlap.toLowerCase(Locale.ROOT)))
                .jitter(jitter)
                .build();
        // The full check of the cron and zone, as a worker makes it, before anything is written.
        Slots.parse(definition.cron(), definition.timeZone());
      } catch (InvalidScheduleException e) {
        throw new CliFailure(ExitCodes.USAGE, Terminal.safe(e.getMessage()), e);
      }
      String result;
      try (TaskBrokerClient client = Clients.open(database, context)) {
        result = client.schedules().upsert(definition);
      } catch (InvalidScheduleException e) {
        throw new CliFailure(ExitCodes.USAGE, Terminal.safe(e.getMessage()), e);
      }
      context.out().println(result);
      return ExitCodes.OK;
    }

    private static com.fasterxml.jackson.databind.node.ObjectNode json(String text, String field) {
      try {
        return Json.parseObject(text, field);
      } catch (InvalidJobException | IllegalArgumentException e) {
        throw new InvalidScheduleException(field, e.getMessage(), e);
      }
    }
  }

  /** A subcommand on one schedule by name. */
  abstract static class OnOne implements Callable<Integer> {
    final CliContext context;

    @Parameters(index = "0", paramLabel = "NAME", description = "The schedule's name.")
    String name;

    @Mixin DatabaseOptions database;
    @Mixin VerboseOption verbose;

    OnOne(CliContext context) {
      this.context = context;
    }

    @Override
    public Integer call() {
      String checked = name(name);
      try (TaskBrokerClient client = Clients.open(database, context)) {
        return run(client, checked);
      }
    }

    abstract int run(TaskBrokerClient client, String name);
  }

  @Command(
      name = "pause",
      mixinStandardHelpOptions = true,
      description = "Stop firing slots until resumed (enqueued jobs stay).")
  static final class PauseCommand extends OnOne {
    PauseCommand(CliContext context) {
      super(context);
    }

    @Override
    int run(TaskBrokerClient client, String name) {
      if (!client.schedules().pause(name)) {
        throw noSuchSchedule(name);
      }
      context.out().println("paused");
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "resume",
      mixinStandardHelpOptions = true,
      description = "Fire again, from the next slot after now (the pause is not caught up).")
  static final class ResumeCommand extends OnOne {
    ResumeCommand(CliContext context) {
      super(context);
    }

    @Override
    int run(TaskBrokerClient client, String name) {
      if (!client.schedules().resume(name)) {
        throw noSuchSchedule(name);
      }
      context.out().println("resumed");
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "remove",
      mixinStandardHelpOptions = true,
      description = "Delete a schedule (its jobs stay).")
  static final class RemoveCommand extends OnOne {
    RemoveCommand(CliContext context) {
      super(context);
    }

    @Override
    int run(TaskBrokerClient client, String name) {
      if (!client.schedules().delete(name)) {
        throw noSuchSchedule(name);
      }
      context.out().println("removed");
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "trigger",
      mixinStandardHelpOptions = true,
      description = "Enqueue one run now, outside the slots; prints the job id.")
  static final class TriggerCommand extends OnOne {
    TriggerCommand(CliContext context) {
      super(context);
    }

    @Override
    int run(TaskBrokerClient client, String name) {
      Optional<UUID> job = client.schedules().trigger(name);
      context.out().println(job.orElseThrow(() -> noSuchSchedule(name)));
      return ExitCodes.OK;
    }
  }
}
