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
import picocli.CommandLine.Parameters;

/** {@code taskbroker retry ID} or {@code taskbroker retry --queue Q ...}: redrive. */
@Command(
    name = "retry",
    mixinStandardHelpOptions = true,
    description = {
      "Put failed or cancelled jobs back to pending with a fresh attempt budget (their error"
          + " history stays).",
      "With an ID: that job; prints its status after the call. With filters (none: every failed"
          + " and cancelled job): prints how many; above --confirm-above it needs --yes."
    })
final class RetryCommand implements Callable<Integer> {
  private final CliContext context;

  @Parameters(
      index = "0",
      arity = "0..1",
      paramLabel = "ID",
      converter = JobIdConverter.class,
      description = "One job's id.")
  UUID id;

  @Mixin BulkOptions bulk;
  @Mixin DatabaseOptions database;
  @Mixin VerboseOption verbose;

  RetryCommand(CliContext context) {
    this.context = context;
  }

  @Override
  public Integer call() {
    if (id != null && bulk.hasCriterion()) {
      throw new CliFailure(ExitCodes.USAGE, "give a job ID or filters, not both");
    }
    try (TaskBrokerClient client = Clients.open(database, context)) {
      if (id != null) {
        JobStatus status = client.retry(id);
        context.out().println(status.dbValue());
        if (status != JobStatus.PENDING) {
          context
              .err()
              .println(
                  "job "
                      + id
                      + " is "
                      + status.dbValue()
                      + ": only failed or"
                      + " cancelled jobs are retried");
          return status == JobStatus.COMPLETED ? ExitCodes.ERROR : ExitCodes.OK;
        }
        return ExitCodes.OK;
      }
      return bulk.run(client, context, BulkAction.RETRY, bulk.filter(false), "retried");
    }
  }
}
