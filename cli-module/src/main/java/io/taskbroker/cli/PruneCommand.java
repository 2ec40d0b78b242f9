package io.taskbroker.cli;

import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.cli.internal.CliContext;
import io.taskbroker.cli.internal.CliFailure;
import io.taskbroker.cli.internal.Clients;
import io.taskbroker.cli.internal.Converters.DurationConverter;
import io.taskbroker.cli.internal.Converters.JobStatusConverter;
import io.taskbroker.cli.internal.DatabaseOptions;
import io.taskbroker.cli.internal.ExitCodes;
import io.taskbroker.cli.internal.VerboseOption;
import io.taskbroker.common.JobStatus;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code taskbroker prune --older-than 7d}. */
@Command(
    name = "prune",
    mixinStandardHelpOptions = true,
    description = {
      "Delete finished jobs that finished longer ago than --older-than, and print how many.",
      "Workers also prune on their own (worker --retention)."
    })
final class PruneCommand implements Callable<Integer> {
  private final CliContext context;

  @Option(
      names = "--older-than",
      required = true,
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "Age past which finished jobs go, e.g. 7d, 12h.")
  Duration olderThan;

  @Option(
      names = "--status",
      paramLabel = "STATUS",
      split = ",",
      defaultValue = "completed,failed,cancelled",
      converter = JobStatusConverter.class,
      description = "Only these final states. Default: ${DEFAULT-VALUE}.")
  List<JobStatus> statuses;

  @Mixin DatabaseOptions database;
  @Mixin VerboseOption verbose;

  PruneCommand(CliContext context) {
    this.context = context;
  }

  @Override
  public Integer call() {
    for (JobStatus status : statuses) {
      if (!status.isFinal()) {
        throw new CliFailure(
            ExitCodes.USAGE,
            "only finished jobs can be pruned; " + status.dbValue() + " is not final");
      }
    }
    long deleted;
    try (TaskBrokerClient client = Clients.open(database, context)) {
      deleted = client.prune(olderThan, EnumSet.copyOf(statuses));
    }
    context.out().println("deleted " + deleted + " job" + (deleted == 1 ? "" : "s"));
    return ExitCodes.OK;
  }
}
