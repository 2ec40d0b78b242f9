package io.taskbroker.cli;

import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.cli.internal.CliContext;
import io.taskbroker.cli.internal.CliFailure;
import io.taskbroker.cli.internal.CliJson;
import io.taskbroker.cli.internal.Clients;
import io.taskbroker.cli.internal.Converters.JobStatusConverter;
import io.taskbroker.cli.internal.DatabaseOptions;
import io.taskbroker.cli.internal.ExitCodes;
import io.taskbroker.cli.internal.JobViews;
import io.taskbroker.cli.internal.Table;
import io.taskbroker.cli.internal.Times;
import io.taskbroker.cli.internal.VerboseOption;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobQuery;
import io.taskbroker.common.JobStatus;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code taskbroker jobs}: lists jobs, newest first. */
@Command(
    name = "jobs",
    mixinStandardHelpOptions = true,
    description = "List jobs, newest first, as a table or as JSON.")
final class JobsCommand implements Callable<Integer> {
  private final CliContext context;

  @Option(
      names = "--status",
      paramLabel = "STATUS",
      split = ",",
      converter = JobStatusConverter.class,
      description = "Only these: pending, running, completed, failed, cancelled (comma-separated).")
  List<JobStatus> statuses = new ArrayList<>();

  @Option(names = "--queue", description = "Only this queue.")
  String queue;

  @Option(names = "--plugin", description = "Only this plugin.")
  String plugin;

  @Option(
      names = "--limit",
      paramLabel = "N",
      defaultValue = "50",
      description = "At most this many. Default: ${DEFAULT-VALUE}.")
  int limit;

  @Option(
      names = "--offset",
      paramLabel = "N",
      defaultValue = "0",
      description = "Skip this many first.")
  int offset;

  @Option(names = "--json", description = "Print a JSON array of jobs with every column.")
  boolean json;

  @Mixin DatabaseOptions database;
  @Mixin VerboseOption verbose;

  JobsCommand(CliContext context) {
    this.context = context;
  }

  @Override
  public Integer call() {
    JobQuery query =
        CliFailure.checkingInput(
            () ->
                JobQuery.builder()
                    .statuses(
                        statuses.isEmpty()
                            ? EnumSet.noneOf(JobStatus.class)
                            : EnumSet.copyOf(statuses))
                    .queue(queue)
                    .plugin(plugin)
                    .limit(limit)
                    .offset(offset)
                    // The table shows none of payload, result or errors: a page of jobs with
                    // megabyte results should not read them.
                    .bodies(json)
                    .build());
    List<Job> jobs;
    try (TaskBrokerClient client = Clients.open(database, context)) {
      jobs = Clients.read("the jobs", () -> client.list(query));
    }
    if (json) {
      context.out().println(CliJson.write(jobs.stream().map(JobViews::toJson).toList()));
      return ExitCodes.OK;
    }
    if (jobs.isEmpty()) {
      context.out().println("no jobs found");
      return ExitCodes.OK;
    }
    Table table = new Table("ID", "PLUGIN", "QUEUE", "STATUS", "ATTEMPT", "CREATED", "FINISHED");
    for (Job job : jobs) {
      table.row(
          job.id(),
          job.plugin(),
          job.queue(),
          job.status().dbValue(),
          JobViews.attempts(job),
          Times.local(job.createdAt()),
          Times.local(job.completedAt()));
    }
    table.print(context.out());
    if (jobs.size() == limit) {
      context
          .err()
          .println(
              "showing "
                  + limit
                  + " jobs; there may be more: --offset "
                  + (offset + limit)
                  + " shows the next ones");
    }
    return ExitCodes.OK;
  }
}
