package io.taskbroker.cli;

import io.taskbroker.api.ResultView;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.cli.internal.CliContext;
import io.taskbroker.cli.internal.CliFailure;
import io.taskbroker.cli.internal.CliJson;
import io.taskbroker.cli.internal.Clients;
import io.taskbroker.cli.internal.Converters.DurationConverter;
import io.taskbroker.cli.internal.DatabaseOptions;
import io.taskbroker.cli.internal.Durations;
import io.taskbroker.cli.internal.ExitCodes;
import io.taskbroker.cli.internal.Terminal;
import io.taskbroker.cli.internal.VerboseOption;
import io.taskbroker.common.DatabaseException;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobNotFoundException;
import io.taskbroker.common.Json;
import io.taskbroker.common.NewJob;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code taskbroker submit PLUGIN --payload JSON [--wait]}. */
@Command(
    name = "submit",
    mixinStandardHelpOptions = true,
    description = {
      "Submit a job and print its id.",
      "With --wait, wait for it to finish and print its result as JSON:",
      "  {\"status\":\"success\",\"data\":...}, {\"status\":\"error\",\"error\":...}"
          + " or {\"status\":\"cancelled\"}."
    })
final class SubmitCommand implements Callable<Integer> {
  private final CliContext context;

  @Parameters(index = "0", paramLabel = "PLUGIN", description = "Plugin to run, e.g. echo.")
  String plugin;

  @Option(
      names = "--payload",
      paramLabel = "JSON",
      defaultValue = "{}",
      description = "The job's input, a JSON object. Default: ${DEFAULT-VALUE}.")
  String payload;

  @Option(
      names = "--queue",
      defaultValue = NewJob.DEFAULT_QUEUE,
      description = "Queue to put it on. Default: ${DEFAULT-VALUE}.")
  String queue;

  @Option(
      names = "--priority",
      defaultValue = "0",
      description = "Lower runs first, -32768..32767. Default: ${DEFAULT-VALUE}.")
  int priority;

  @Option(
      names = "--delay",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "Run no earlier than this from now, e.g. 10s, 5m.")
  Duration delay;

  @Option(
      names = "--max-attempts",
      paramLabel = "N",
      defaultValue = "" + NewJob.DEFAULT_MAX_ATTEMPTS,
      description = "Attempts before the job fails for good. Default: ${DEFAULT-VALUE}.")
  int maxAttempts;

  @Option(
      names = "--unique-key",
      paramLabel = "KEY",
      description = "Refuse the job while another with this key is pending or running.")
  String uniqueKey;

  @Option(
      names = "--concurrency-key",
      paramLabel = "KEY",
      description =
          "Group for the queue's key_concurrency limit: at most that many jobs of one key run at"
              + " once.")
  String concurrencyKey;

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description = "Longest one attempt may run (overrides the plugin's and the worker's).")
  Duration timeout;

  @Option(
      names = "--metadata",
      paramLabel = "JSON",
      description = "Free metadata, a JSON object, stored with the job.")
  String metadata;

  @Option(names = "--wait", description = "Wait for the job to finish and print its result.")
  boolean await;

  @Option(
      names = "--wait-timeout",
      paramLabel = "DURATION",
      defaultValue = "60s",
      converter = DurationConverter.class,
      description = "With --wait, give up waiting after this (the job goes on). Default: 60s.")
  Duration waitTimeout;

  @Mixin DatabaseOptions database;
  @Mixin VerboseOption verbose;

  SubmitCommand(CliContext context) {
    this.context = context;
  }

  @Override
  public Integer call() {
    // Validated before connecting: a bad payload writes nothing.
    NewJob job = newJob();
    try (TaskBrokerClient client = Clients.open(database, context)) {
      // The database refusing a value (a NUL in a JSON string) refuses what the user typed.
      UUID id = CliFailure.checkingInput(() -> client.submit(job));
      if (!await) {
        context.out().println(id);
        return ExitCodes.OK;
      }
      context
          .err()
          .println(
              "submitted job "
                  + id
                  + " ("
                  + Terminal.safe(job.plugin())
                  + " on queue "
                  + Terminal.safe(job.queue())
                  + "); waiting up to "
                  + Durations.format(waitTimeout));
      return awaitResult(client, id);
    }
  }

  private NewJob newJob() {
    return CliFailure.checkingInput(
        () -> {
          NewJob job = buildJob();
          // The size limit is checked when the job is written; check it here too, so an
          // oversized payload is the user's mistake (exit 2), found before connecting.
          Json.writeStorable(job.payload(), "payload");
          Json.writeStorable(job.metadata(), "metadata");
          return job;
        });
  }

  private NewJob buildJob() {
    NewJob.Builder builder =
        NewJob.builder(plugin)
            .payloadJson(payload)
            .queue(queue)
            .priority(priority)
            .delay(delay)
            .maxAttempts(maxAttempts)
            .uniqueKey(uniqueKey)
            .concurrencyKey(concurrencyKey)
            .timeout(timeout);
    if (metadata != null) {
      builder.metadata(Json.parseObject(metadata, "metadata"));
    }
    return builder.build();
  }

  private int awaitResult(TaskBrokerClient client, UUID id) {
    CompletableFuture<Job> finished = client.await(id);
    Job job;
    try {
      job = finished.get(waitTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      finished.cancel(false);
      Job now = Clients.read("job " + id, () -> client.require(id));
      context.out().println(CliJson.write(ResultView.of(now).toMap()));
      context
          .err()
          .println(
              "job "
                  + id
                  + " is still "
                  + now.status().dbValue()
                  + " after "
                  + Durations.format(waitTimeout)
                  + "; it goes on (follow it with 'taskbroker job "
                  + id
                  + "')");
      return ExitCodes.WAIT_TIMED_OUT;
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof DatabaseException || cause instanceof JobNotFoundException) {
        throw (RuntimeException) cause;
      }
      // The job was read and did not decode, or the waiting itself broke: not the user's input.
      throw Clients.unreadable("job " + id, cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliFailure(ExitCodes.ERROR, "interrupted while waiting for job " + id);
    }
    context.out().println(CliJson.write(ResultView.of(job).toMap()));
    switch (job.status()) {
      case COMPLETED:
        return ExitCodes.OK;
      case CANCELLED:
        return ExitCodes.CANCELLED;
      default:
        return ExitCodes.ERROR;
    }
  }
}
