package io.taskbroker.cli;

import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.cli.internal.CliContext;
import io.taskbroker.cli.internal.Clients;
import io.taskbroker.cli.internal.DashboardOptions;
import io.taskbroker.cli.internal.DatabaseOptions;
import io.taskbroker.cli.internal.ExitCodes;
import io.taskbroker.cli.internal.VerboseOption;
import io.taskbroker.dashboard.Dashboard;
import io.taskbroker.worker.process.StopSignals.StopRequest;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code taskbroker dashboard}: the web dashboard and HTTP API until SIGTERM or Ctrl-C. */
@Command(
    name = "dashboard",
    mixinStandardHelpOptions = true,
    description = {
      "Serve the web dashboard and its HTTP JSON API (/api/...) until SIGTERM or Ctrl-C.",
      "Without --token it binds to loopback only; with it, the pages ask for a sign-in."
    })
final class DashboardCommand implements Callable<Integer> {
  private final CliContext context;

  @Option(names = "--port", defaultValue = "8080", description = "Port (default 8080).")
  int port;

  @Mixin DashboardOptions dashboard;
  @Mixin DatabaseOptions database;
  @Mixin VerboseOption verbose;

  DashboardCommand(CliContext context) {
    this.context = context;
  }

  @Override
  public Integer call() throws InterruptedException {
    try (StopRequest stop = context.stopSignals().watch(Duration.ofSeconds(10));
        TaskBrokerClient client = Clients.open(database, context);
        Dashboard running = dashboard.start(client, port, context.env())) {
      context
          .out()
          .println("Dashboard on http://" + running.config().host() + ":" + running.port() + "/");
      context.out().flush();
      stop.await();
    }
    return ExitCodes.OK;
  }
}
