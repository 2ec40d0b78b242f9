package io.taskbroker.cli.internal;

import io.taskbroker.api.BulkAction;
import io.taskbroker.api.BulkResult;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.cli.internal.Converters.DurationConverter;
import io.taskbroker.cli.internal.Converters.JobStatusConverter;
import io.taskbroker.common.JobFilter;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.QueueStats;
import java.time.Duration;
import java.time.Instant;
import picocli.CommandLine.Option;

/**
 * The filter and confirmation of {@code retry}, {@code cancel --all} and {@code delete}: the action
 * runs in a transaction, and one that touches more than {@code --confirm-above} jobs without {@code
 * --yes} is rolled back (the count printed is exact; nothing was written). Not thread-safe.
 */
public final class BulkOptions {
  public static final long DEFAULT_CONFIRM_ABOVE = 100;

  @Option(names = "--queue", description = "Only jobs of this queue.")
  public String queue;

  @Option(names = "--plugin", description = "Only jobs of this plugin.")
  public String plugin;

  @Option(
      names = "--status",
      converter = JobStatusConverter.class,
      description = "Only jobs in this status.")
  public JobStatus status;

  @Option(
      names = "--finished-since",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "Only jobs that finished within this long (e.g. 1h, 30m).")
  public Duration finishedSince;

  @Option(names = "--yes", description = "Go ahead however many jobs it touches.")
  public boolean yes;

  @Option(
      names = "--confirm-above",
      paramLabel = "N",
      description = "Without --yes, touch at most this many jobs (default: 100); more: nothing.")
  public long confirmAbove = DEFAULT_CONFIRM_ABOVE;

  public boolean hasCriterion() {
    return queue != null || plugin != null || status != null || finishedSince != null;
  }

  public JobFilter filter(boolean everyJob) {
    if (everyJob && !hasCriterion()) {
      return JobFilter.all();
    }
    return CliFailure.checkingInput(
        () ->
            JobFilter.builder()
                .queue(queue)
                .plugin(plugin)
                .status(status)
                .finishedSince(finishedSince == null ? null : Instant.now().minus(finishedSince))
                .build());
  }

  /**
   * Runs the action and prints what it did ({@code verb}: retried, cancelled, deleted); the exit
   * code.
   */
  public int run(
      TaskBrokerClient client,
      CliContext context,
      BulkAction action,
      JobFilter filter,
      String verb) {
    if (queue != null && !knownQueue(client, queue)) {
      throw new CliFailure(
          ExitCodes.ERROR, "no queue named '" + Terminal.safe(queue) + "' (no jobs, no settings)");
    }
    if (confirmAbove < 0) {
      throw new CliFailure(ExitCodes.USAGE, "--confirm-above: must not be negative");
    }
    BulkResult result =
        CliFailure.checkingInput(
            () -> client.bulk(action, filter, yes ? Long.MAX_VALUE : confirmAbove));
    if (!result.applied()) {
      context
          .err()
          .println(
              "would have "
                  + verb
                  + " "
                  + result.touched()
                  + " jobs, more than "
                  + confirmAbove
                  + ": nothing done; run again with --yes");
      return ExitCodes.USAGE;
    }
    context.out().println(verb + " " + result.touched() + " job(s)");
    return ExitCodes.OK;
  }

  /** A queue with jobs, settings, or a live worker row naming it. */
  public static boolean knownQueue(TaskBrokerClient client, String name) {
    if (client.stats().stream().map(QueueStats::queue).anyMatch(name::equals)) {
      return true;
    }
    if (client.queues().get(name).isPresent()) {
      return true;
    }
    return new CliQueries(client.database().jdbi())
        .workers().stream().anyMatch(worker -> worker.queuesJson().contains("\"" + name + "\""));
  }
}
