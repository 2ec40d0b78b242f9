package io.taskbroker.cli;

import io.taskbroker.api.BulkAction;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.cli.internal.BulkOptions;
import io.taskbroker.cli.internal.CliContext;
import io.taskbroker.cli.internal.CliFailure;
import io.taskbroker.cli.internal.Clients;
import io.taskbroker.cli.internal.DatabaseOptions;
import io.taskbroker.cli.internal.ExitCodes;
import io.taskbroker.cli.internal.VerboseOption;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code taskbroker delete --queue Q ...}: delete jobs that are not running. */
@Command(
    name = "delete",
    mixinStandardHelpOptions = true,
    description = {
      "Delete the jobs matching the filters that are not running (cancel running ones first).",
      "Needs a filter, or --all-jobs for every job. Prints how many; above --confirm-above it"
          + " needs --yes."
    })
final class DeleteCommand implements Callable<Integer> {
  private final CliContext context;

  @Option(names = "--all-jobs", description = "No filter: every job that is not running.")
  boolean allJobs;

  @Mixin BulkOptions bulk;
  @Mixin DatabaseOptions database;
  @Mixin VerboseOption verbose;

  DeleteCommand(CliContext context) {
    this.context = context;
  }

  @Override
  public Integer call() {
    if (!bulk.hasCriterion() && !allJobs) {
      throw new CliFailure(
          ExitCodes.USAGE,
          "delete needs a filter (--queue, --plugin, --status, --finished-since) or --all-jobs");
    }
    if (bulk.hasCriterion() && allJobs) {
      throw new CliFailure(ExitCodes.USAGE, "--all-jobs takes no filter");
    }
    try (TaskBrokerClient client = Clients.open(database, context)) {
      return bulk.run(client, context, BulkAction.DELETE, bulk.filter(allJobs), "deleted");
    }
  }
}
