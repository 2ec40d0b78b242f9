package io.taskbroker.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.cli.internal.CliContext;
import io.taskbroker.cli.internal.CliJson;
import io.taskbroker.cli.internal.CliQueries;
import io.taskbroker.cli.internal.CliQueries.UnservedRow;
import io.taskbroker.cli.internal.CliQueries.WorkerRow;
import io.taskbroker.cli.internal.Clients;
import io.taskbroker.cli.internal.DatabaseOptions;
import io.taskbroker.cli.internal.Durations;
import io.taskbroker.cli.internal.ExitCodes;
import io.taskbroker.cli.internal.Table;
import io.taskbroker.cli.internal.Times;
import io.taskbroker.cli.internal.VerboseOption;
import io.taskbroker.common.Json;
import io.taskbroker.common.QueueStats;
import io.taskbroker.common.Schedule;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code taskbroker stats}: queues, workers, and pending jobs no worker can run. */
@Command(
    name = "stats",
    mixinStandardHelpOptions = true,
    description = {
      "Show job counts per queue (taskbroker.queue_stats), the live workers (taskbroker.workers)"
          + " and pending jobs that no live worker can run (taskbroker.unserved_jobs), and the"
          + " recurring schedules (taskbroker.schedules)."
    })
final class StatsCommand implements Callable<Integer> {
  private final CliContext context;

  @Option(names = "--json", description = "Print {queues, workers, unserved} as JSON.")
  boolean json;

  @Mixin DatabaseOptions database;
  @Mixin VerboseOption verbose;

  StatsCommand(CliContext context) {
    this.context = context;
  }

  @Override
  public Integer call() {
    List<QueueStats> queues;
    List<WorkerRow> workers;
    List<UnservedRow> unserved;
    List<Schedule> schedules;
    List<io.taskbroker.common.QueueSettings> settings;
    try (TaskBrokerClient client = Clients.open(database, context)) {
      CliQueries queries = new CliQueries(client.database().jdbi());
      queues = Clients.read("the queue statistics", client::stats);
      workers = Clients.read("the workers", queries::workers);
      unserved = Clients.read("the unserved jobs", queries::unserved);
      schedules = Clients.read("the schedules", () -> client.schedules().list());
      settings = Clients.read("the queue settings", () -> client.queues().list());
    }
    if (json) {
      Map<String, Object> all = new LinkedHashMap<>();
      all.put("queues", queues.stream().map(StatsCommand::queueJson).toList());
      all.put("workers", workers.stream().map(StatsCommand::workerJson).toList());
      all.put("unserved", unserved.stream().map(StatsCommand::unservedJson).toList());
      all.put("schedules", schedules.stream().map(SchedulesCommand::json).toList());
      all.put("queue_settings", settings.stream().map(QueuesCommand::json).toList());
      context.out().println(CliJson.write(all));
      return ExitCodes.OK;
    }
    PrintWriter out = context.out();
    Instant now = Instant.now();

    out.println("QUEUES");
    Table queueTable =
        new Table(
            "QUEUE",
            "PENDING",
            "SCHEDULED",
            "RUNNING",
            "COMPLETED",
            "FAILED",
            "CANCELLED",
            "OLDEST PENDING");
    for (QueueStats queue : queues) {
      queueTable.row(
          queue.queue(),
          queue.pending(),
          queue.scheduled(),
          queue.running(),
          queue.completed(),
          queue.failed(),
          queue.cancelled(),
          Durations.format(queue.oldestPendingAge()));
    }
    printOr(queueTable, out, "  (no jobs)");

    out.println();
    out.println("WORKERS");
    Table workerTable =
        new Table("ID", "HOST", "PID", "QUEUES", "PLUGINS", "RUNNING", "STARTED", "LAST HEARTBEAT");
    for (WorkerRow worker : workers) {
      workerTable.row(
          worker.id(),
          worker.host(),
          worker.pid(),
          queues(worker.queuesJson()),
          worker.plugins(),
          worker.running() + "/" + worker.concurrency(),
          Times.local(worker.startedAt()),
          Durations.format(Duration.between(worker.lastHeartbeatAt(), now)) + " ago");
    }
    printOr(workerTable, out, "  (no live workers)");

    out.println();
    out.println("UNSERVED (pending jobs that no live worker can run: start one with the plugin)");
    Table unservedTable = new Table("QUEUE", "PLUGIN", "PENDING", "OLDEST");
    for (UnservedRow row : unserved) {
      unservedTable.row(
          row.queue(), row.plugin(), row.pending(), Times.local(row.oldestCreatedAt()));
    }
    printOr(unservedTable, out, "  (none)");

    out.println();
    out.println("SCHEDULES");
    printOr(SchedulesCommand.table(schedules), out, "  (no schedules)");

    out.println();
    out.println("QUEUE CONTROLS (paused queues and limits; a queue not listed has none)");
    printOr(QueuesCommand.table(settings), out, "  (none)");
    return ExitCodes.OK;
  }

  private static void printOr(Table table, PrintWriter out, String empty) {
    if (table.isEmpty()) {
      out.println(empty);
    } else {
      table.print(out);
    }
  }

  /** {@code {"a":5,"b":2}} as {@code a:5,b:2}. */
  private static String queues(String json) {
    JsonNode node = queuesNode(json);
    if (!node.isObject()) {
      return json;
    }
    List<String> parts = new ArrayList<>();
    for (Map.Entry<String, JsonNode> queue : node.properties()) {
      parts.add(queue.getKey() + ":" + queue.getValue().asText());
    }
    return String.join(",", parts);
  }

  /** A worker's queues; as text when they do not decode: one odd row must not hide the fleet. */
  private static JsonNode queuesNode(String json) {
    try {
      return Json.parse(json);
    } catch (RuntimeException e) {
      return TextNode.valueOf(json);
    }
  }

  private static Map<String, Object> queueJson(QueueStats queue) {
    Map<String, Object> map = new LinkedHashMap<>();
    map.put("queue", queue.queue());
    map.put("pending", queue.pending());
    map.put("scheduled", queue.scheduled());
    map.put("running", queue.running());
    map.put("completed", queue.completed());
    map.put("failed", queue.failed());
    map.put("cancelled", queue.cancelled());
    map.put(
        "oldest_pending_ms",
        queue.oldestPendingAge() == null ? null : queue.oldestPendingAge().toMillis());
    return map;
  }

  private static Map<String, Object> workerJson(WorkerRow worker) {
    Map<String, Object> map = new LinkedHashMap<>();
    map.put("id", worker.id());
    map.put("host", worker.host());
    map.put("pid", worker.pid());
    map.put("queues", queuesNode(worker.queuesJson()));
    map.put(
        "plugins", worker.plugins().isEmpty() ? List.of() : List.of(worker.plugins().split(",")));
    map.put("concurrency", worker.concurrency());
    map.put("running", worker.running());
    map.put("started_at", Times.iso(worker.startedAt()));
    map.put("last_heartbeat_at", Times.iso(worker.lastHeartbeatAt()));
    return map;
  }

  private static Map<String, Object> unservedJson(UnservedRow row) {
    Map<String, Object> map = new LinkedHashMap<>();
    map.put("queue", row.queue());
    map.put("plugin", row.plugin());
    map.put("pending", row.pending());
    map.put("oldest_created_at", Times.iso(row.oldestCreatedAt()));
    return map;
  }
}
