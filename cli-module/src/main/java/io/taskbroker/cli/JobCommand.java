package io.taskbroker.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.cli.internal.CliContext;
import io.taskbroker.cli.internal.CliJson;
import io.taskbroker.cli.internal.Clients;
import io.taskbroker.cli.internal.Converters.JobIdConverter;
import io.taskbroker.cli.internal.DatabaseOptions;
import io.taskbroker.cli.internal.Durations;
import io.taskbroker.cli.internal.ExitCodes;
import io.taskbroker.cli.internal.JobViews;
import io.taskbroker.cli.internal.Table;
import io.taskbroker.cli.internal.Times;
import io.taskbroker.cli.internal.VerboseOption;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code taskbroker job ID}: one job in full. */
@Command(
    name = "job",
    mixinStandardHelpOptions = true,
    description =
        "Show one job: payload, progress, result or error, and the history of failed attempts.")
final class JobCommand implements Callable<Integer> {
  // Enough for any sensible payload or error; past it, --json shows the whole value.
  private static final int MAX_FIELD = 4000;

  private final CliContext context;

  @Parameters(
      index = "0",
      paramLabel = "ID",
      converter = JobIdConverter.class,
      description = "The job's id.")
  UUID id;

  @Option(names = "--json", description = "Print the job as JSON with every column.")
  boolean json;

  @Mixin DatabaseOptions database;
  @Mixin VerboseOption verbose;

  JobCommand(CliContext context) {
    this.context = context;
  }

  @Override
  public Integer call() {
    Job job;
    try (TaskBrokerClient client = Clients.open(database, context)) {
      job = Clients.read("job " + id, () -> client.require(id));
    }
    if (json) {
      context.out().println(CliJson.write(JobViews.toJson(job)));
    } else {
      print(job, context.out());
    }
    return ExitCodes.OK;
  }

  private static void print(Job job, PrintWriter out) {
    field(out, "id", job.id());
    field(out, "plugin", job.plugin());
    field(out, "queue", job.queue());
    field(out, "status", job.status().dbValue() + waitingNote(job));
    field(out, "attempt", job.attempt() + " of " + job.maxAttempts());
    field(out, "priority", job.priority());
    field(out, "created", Times.local(job.createdAt()));
    field(out, "run at", Times.local(job.runAt()));
    field(out, "started", Times.local(job.startedAt()));
    field(out, "finished", Times.local(job.completedAt()));
    if (job.workerId() != null) {
      field(out, "worker", job.workerId());
    }
    if (job.leaseExpiresAt() != null) {
      field(out, "lease until", Times.local(job.leaseExpiresAt()));
    }
    field(out, "progress", JobViews.progress(job));
    if (job.timeoutMs() != null) {
      field(out, "timeout", Durations.format(Duration.ofMillis(job.timeoutMs())));
    }
    if (job.uniqueKey() != null) {
      field(out, "unique key", job.uniqueKey());
    }
    if (job.cancelRequestedAt() != null) {
      field(out, "cancel asked", Times.local(job.cancelRequestedAt()));
    }
    field(out, "payload", CliJson.write(job.payload()));
    field(out, "metadata", CliJson.write(job.metadata()));
    if (job.status() == JobStatus.COMPLETED) {
      field(out, "result", job.result() == null ? "null" : CliJson.write(job.result()));
    }
    if (job.error() != null) {
      field(out, "error", job.error());
    }
    JsonNode errors = job.errors();
    if (errors != null && errors.isArray() && !errors.isEmpty()) {
      out.println("failed attempts:");
      Table history = new Table("#", "AT", "KIND", "WORKER", "ERROR");
      for (JsonNode entry : errors) {
        history.row(
            entry.path("attempt").asText("?"),
            at(entry.path("at")),
            JobViews.text(entry.get("kind")),
            JobViews.text(entry.get("worker_id")),
            JobViews.text(entry.get("error")));
      }
      history.print(out, "  ");
    }
  }

  private static String waitingNote(Job job) {
    if (job.status() == JobStatus.PENDING && job.runAt() != null) {
      Duration until = Duration.between(Instant.now(), job.runAt());
      if (until.toMillis() > 0) {
        return " (runs in " + Durations.format(until) + ")";
      }
    }
    return "";
  }

  private static String at(JsonNode node) {
    String text = JobViews.text(node);
    if (text == null) {
      return null;
    }
    try {
      return Times.local(Instant.parse(text));
    } catch (DateTimeParseException e) {
      return text;
    }
  }

  private static void field(PrintWriter out, String name, Object value) {
    String text = value == null ? "-" : Table.display(value.toString(), MAX_FIELD);
    out.println(String.format("%-13s %s", name + ":", text));
  }
}
