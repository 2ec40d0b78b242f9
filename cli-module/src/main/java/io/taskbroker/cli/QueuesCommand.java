package io.taskbroker.cli;

import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.cli.internal.BulkOptions;
import io.taskbroker.cli.internal.CliContext;
import io.taskbroker.cli.internal.CliFailure;
import io.taskbroker.cli.internal.CliJson;
import io.taskbroker.cli.internal.Clients;
import io.taskbroker.cli.internal.Converters.DurationConverter;
import io.taskbroker.cli.internal.DatabaseOptions;
import io.taskbroker.cli.internal.Durations;
import io.taskbroker.cli.internal.ExitCodes;
import io.taskbroker.cli.internal.Table;
import io.taskbroker.cli.internal.Terminal;
import io.taskbroker.cli.internal.Times;
import io.taskbroker.cli.internal.VerboseOption;
import io.taskbroker.common.QueueLimits;
import io.taskbroker.common.QueueSettings;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code taskbroker queues}: list, pause, resume and limit queues (taskbroker.queues). */
@Command(
    name = "queues",
    mixinStandardHelpOptions = true,
    description = {
      "Queue controls (taskbroker.queues): pause and resume claiming, and flow limits enforced by"
          + " the claim in the database. A queue without settings has no limits.",
      "Without a subcommand: list."
    },
    subcommands = {
      QueuesCommand.ListCommand.class,
      QueuesCommand.PauseCommand.class,
      QueuesCommand.ResumeCommand.class,
      QueuesCommand.LimitsCommand.class
    })
final class QueuesCommand implements Callable<Integer> {
  private final CliContext context;

  @Mixin DatabaseOptions database;
  @Mixin VerboseOption verbose;

  QueuesCommand(CliContext context) {
    this.context = context;
  }

  @Override
  public Integer call() {
    return list(context, database, false);
  }

  static int list(CliContext context, DatabaseOptions database, boolean json) {
    List<QueueSettings> queues;
    try (TaskBrokerClient client = Clients.open(database, context)) {
      queues = Clients.read("the queue settings", () -> client.queues().list());
    }
    if (json) {
      context.out().println(CliJson.write(queues.stream().map(QueuesCommand::json).toList()));
      return ExitCodes.OK;
    }
    if (queues.isEmpty()) {
      context.out().println("(no queue has settings: none paused, no limits)");
      return ExitCodes.OK;
    }
    table(queues).print(context.out());
    return ExitCodes.OK;
  }

  /** The settings as a table: also what {@code stats} shows. */
  static Table table(List<QueueSettings> queues) {
    Table table = new Table("QUEUE", "STATE", "GLOBAL", "RATE", "PER KEY", "CHANGED");
    for (QueueSettings queue : queues) {
      QueueLimits limits = queue.limits();
      table.row(
          queue.name(),
          queue.paused() ? "paused since " + Times.local(queue.pausedAt()) : "running",
          limits.globalConcurrency() == null ? "-" : limits.globalConcurrency(),
          limits.rateLimit() == null
              ? "-"
              : limits.rateLimit() + " per " + Durations.format(limits.ratePeriod()),
          limits.keyConcurrency() == null ? "-" : limits.keyConcurrency(),
          Times.local(queue.updatedAt()));
    }
    return table;
  }

  static Map<String, Object> json(QueueSettings queue) {
    QueueLimits limits = queue.limits();
    Map<String, Object> map = new LinkedHashMap<>();
    map.put("name", queue.name());
    map.put("paused", queue.paused());
    map.put("paused_at", Times.iso(queue.pausedAt()));
    map.put("global_concurrency", limits.globalConcurrency());
    map.put("rate_limit", limits.rateLimit());
    map.put("rate_period_ms", limits.ratePeriod() == null ? null : limits.ratePeriod().toMillis());
    map.put("key_concurrency", limits.keyConcurrency());
    map.put("updated_at", Times.iso(queue.updatedAt()));
    return map;
  }

  /** The queue must be known (jobs, settings or a worker serving it) unless --create. */
  static void requireKnown(TaskBrokerClient client, String queue, boolean create) {
    if (!create && !BulkOptions.knownQueue(client, queue)) {
      throw new CliFailure(
          ExitCodes.ERROR,
          "no queue named '"
              + Terminal.safe(queue)
              + "' (no jobs, settings or workers); add --create to set it up before it has any");
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List queue settings.")
  static final class ListCommand implements Callable<Integer> {
    private final CliContext context;

    @Option(names = "--json", description = "Print the settings as a JSON array.")
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
      name = "pause",
      mixinStandardHelpOptions = true,
      description = {
        "Stop every worker's claims on the queue (within a second); running jobs finish, new"
            + " ones wait as pending."
      })
  static final class PauseCommand implements Callable<Integer> {
    private final CliContext context;

    @Parameters(index = "0", paramLabel = "QUEUE")
    String queue;

    @Option(names = "--create", description = "Pause a queue that has no jobs or workers yet.")
    boolean create;

    @Mixin DatabaseOptions database;
    @Mixin VerboseOption verbose;

    PauseCommand(CliContext context) {
      this.context = context;
    }

    @Override
    public Integer call() {
      try (TaskBrokerClient client = Clients.open(database, context)) {
        requireKnown(client, queue, create);
        boolean changed = CliFailure.checkingInput(() -> client.queues().pause(queue));
        context.out().println(changed ? "paused" : "already paused");
      }
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "resume",
      mixinStandardHelpOptions = true,
      description = "Let workers claim from a paused queue again (within a second).")
  static final class ResumeCommand implements Callable<Integer> {
    private final CliContext context;

    @Parameters(index = "0", paramLabel = "QUEUE")
    String queue;

    @Mixin DatabaseOptions database;
    @Mixin VerboseOption verbose;

    ResumeCommand(CliContext context) {
      this.context = context;
    }

    @Override
    public Integer call() {
      try (TaskBrokerClient client = Clients.open(database, context)) {
        requireKnown(client, queue, false);
        boolean changed = CliFailure.checkingInput(() -> client.queues().resume(queue));
        context.out().println(changed ? "resumed" : "not paused");
      }
      return ExitCodes.OK;
    }
  }

  @Command(
      name = "limits",
      mixinStandardHelpOptions = true,
      description = {
        "Set the queue's limits, all at once: a limit not given is cleared (--none clears all).",
        "Enforced exactly by the claim in the database, whatever the number of workers."
      })
  static final class LimitsCommand implements Callable<Integer> {
    private final CliContext context;

    @Parameters(index = "0", paramLabel = "QUEUE")
    String queue;

    @Option(
        names = "--global",
        paramLabel = "N",
        description = "At most N jobs of the queue running at once, across the fleet.")
    Integer global;

    @Option(
        names = "--rate",
        paramLabel = "N",
        description = "At most N starts per --per (sliding window).")
    Integer rate;

    @Option(
        names = "--per",
        paramLabel = "DURATION",
        converter = DurationConverter.class,
        description = "The rate's window (default 1s).")
    Duration per;

    @Option(
        names = "--per-key",
        paramLabel = "N",
        description = "At most N running jobs per concurrency key.")
    Integer perKey;

    @Option(names = "--none", description = "Clear every limit.")
    boolean none;

    @Option(names = "--create", description = "Limit a queue that has no jobs or workers yet.")
    boolean create;

    @Mixin DatabaseOptions database;
    @Mixin VerboseOption verbose;

    LimitsCommand(CliContext context) {
      this.context = context;
    }

    @Override
    public Integer call() {
      boolean anyGiven = global != null || rate != null || per != null || perKey != null;
      if (none == anyGiven) {
        throw new CliFailure(
            ExitCodes.USAGE, "give limits (--global, --rate [--per], --per-key) or --none");
      }
      QueueLimits limits =
          CliFailure.checkingInput(
              () ->
                  QueueLimits.builder()
                      .globalConcurrency(global)
                      .rate(rate, per)
                      .keyConcurrency(perKey)
                      .build());
      try (TaskBrokerClient client = Clients.open(database, context)) {
        requireKnown(client, queue, create);
        CliFailure.checkingInput(
            () -> {
              client.queues().setLimits(queue, limits);
              return null;
            });
        table(List.of(client.queues().get(queue).orElseThrow())).print(context.out());
      }
      return ExitCodes.OK;
    }
  }
}
