package io.taskbroker.cli;

import io.taskbroker.api.BulkAction;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.cli.internal.BulkOptions;
import io.taskbroker.cli.internal.CliContext;
import io.taskbroker.cli.internal.CliFailure;
import io.taskbroker.cli.internal.Clients;
import io.taskbroker.cli.internal.Converters.JobIdConverter;
import io.taskbroker.cli.internal.DatabaseOptions;
import io.taskbroker.cli.internal.ExitCodes;
import io.taskbroker.cli.internal.VerboseOption;
import io.taskbroker.common.JobStatus;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code taskbroker cancel ID}, or {@code taskbroker cancel --all --queue Q ...}. */
@Command(
    name = "cancel",
    mixinStandardHelpOptions = true,
    description = {
      "Cancel a job and print its status after the call.",
      "A pending job is cancelled at once (prints 'cancelled'); a running one is stopped by its"
          + " worker (prints 'running', then the job ends cancelled); a finished one is left as"
          + " it is.",
      "With --all and filters: every pending and running job matching them (--all alone: every"
          + " job); prints how many; above --confirm-above it needs --yes."
    })
final class CancelCommand implements Callable<Integer> {
  private final CliContext context;

  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "ID",
      converter = JobIdConverter.class,
      description = "The job's id.")
  UUID id;

  @Option(names = "--all", description = "Cancel every job matching the filters.")
  boolean all;

  @Mixin BulkOptions bulk;
  @Mixin DatabaseOptions database;
  @Mixin VerboseOption verbose;

  CancelCommand(CliContext context) {
    this.context = context;
  }

  @Override
  public Integer call() {
    if (all || bulk.hasCriterion()) {
      if (id != null || !all) {
        throw new CliFailure(ExitCodes.USAGE, "give a job ID, or --all with optional filters");
      }
      try (TaskBrokerClient client = Clients.open(database, context)) {
        return bulk.run(client, context, BulkAction.CANCEL, bulk.filter(true), "cancelled");
      }
    }
    if (id == null) {
      throw new CliFailure(ExitCodes.USAGE, "give a job ID, or --all with optional filters");
    }
    JobStatus status;
    try (TaskBrokerClient client = Clients.open(database, context)) {
      status = client.cancel(id);
    }
    context.out().println(status.dbValue());
    if (status == JobStatus.RUNNING) {
      context
          .err()
          .println("cancel requested: its worker interrupts the plugin and the job ends cancelled");
    } else if (status == JobStatus.COMPLETED || status == JobStatus.FAILED) {
      context.err().println("job " + id + " had already finished; nothing to cancel");
    }
    return ExitCodes.OK;
  }
}
