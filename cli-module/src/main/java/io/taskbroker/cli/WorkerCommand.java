package io.taskbroker.cli;

import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.cli.internal.CliContext;
import io.taskbroker.cli.internal.CliFailure;
import io.taskbroker.cli.internal.Converters.DurationConverter;
import io.taskbroker.cli.internal.Converters.QueueList;
import io.taskbroker.cli.internal.Converters.QueueListConverter;
import io.taskbroker.cli.internal.Converters.Retention;
import io.taskbroker.cli.internal.Converters.RetentionConverter;
import io.taskbroker.cli.internal.DashboardOptions;
import io.taskbroker.cli.internal.DatabaseOptions;
import io.taskbroker.cli.internal.Durations;
import io.taskbroker.cli.internal.ExitCodes;
import io.taskbroker.cli.internal.MetricsEndpoint;
import io.taskbroker.cli.internal.Plugins;
import io.taskbroker.cli.internal.VerboseOption;
import io.taskbroker.common.Database;
import io.taskbroker.common.DatabaseConfig;
import io.taskbroker.common.Migrations;
import io.taskbroker.dashboard.Dashboard;
import io.taskbroker.worker.HandBack;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.WorkerConfig;
import io.taskbroker.worker.WorkerHealth;
import io.taskbroker.worker.plugins.PluginRegistry;
import io.taskbroker.worker.process.StopSignals.StopRequest;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code taskbroker worker}: migrates, loads plugins, runs a worker until SIGTERM or Ctrl-C, then
 * drains it and exits 0. A worker whose own machinery fails (an Error on one of its units) stops
 * and the command exits 1; a JVM exiting unasked (a plugin calling {@code System.exit}) drains, but
 * spends the attempt of every job it hands back.
 */
@Command(
    name = "worker",
    mixinStandardHelpOptions = true,
    description = {
      "Run a worker: claim jobs of the given queues and run them with the plugins found on the"
          + " classpath (the bundled examples unless --no-examples) and in --plugins-dir.",
      "SIGTERM or Ctrl-C stops it gracefully: no new claims, running jobs get --drain-timeout to"
          + " finish, unfinished ones go back to pending for another worker. A second signal"
          + " stops at once."
    })
final class WorkerCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerCommand.class);
  // Time for the completer, the hand-back and deregistration after the drain.
  private static final Duration STOP_MARGIN = Duration.ofSeconds(30);
  // How often the waiting main thread looks whether the worker failed (in memory, no SQL).
  private static final Duration HEALTH_CHECK = Duration.ofMillis(200);

  private final CliContext context;

  @Option(
      names = "--concurrency",
      paramLabel = "N",
      defaultValue = "" + WorkerConfig.DEFAULT_CONCURRENCY,
      description = "Jobs run at once per queue, unless --queues says. Default: ${DEFAULT-VALUE}.")
  int concurrency;

  @Option(
      names = "--queues",
      paramLabel = "QUEUES",
      defaultValue = WorkerConfig.DEFAULT_QUEUE,
      converter = QueueListConverter.class,
      description = "Queues to serve: a,b or a:5,b:2 (per-queue concurrency). Default: default.")
  QueueList queues;

  @Option(
      names = "--plugins-dir",
      paramLabel = "DIR",
      description =
          "Directory of plugin jars; each jar (or subdirectory of jars) gets its own class loader.")
  Path pluginsDir;

  @Option(
      names = "--no-examples",
      description = "Leave out the bundled example plugins (echo, noop, transcribe).")
  boolean noExamples;

  @Option(
      names = "--drain-timeout",
      paramLabel = "DURATION",
      defaultValue = "30s",
      converter = DurationConverter.class,
      description = "On shutdown, how long running jobs may finish. Default: 30s.")
  Duration drainTimeout;

  @Option(
      names = "--poll-interval",
      paramLabel = "DURATION",
      defaultValue = "2s",
      converter = DurationConverter.class,
      description = "How often to look for work without a notification. Default: 2s.")
  Duration pollInterval;

  @Option(
      names = "--lease",
      paramLabel = "DURATION",
      defaultValue = "15s",
      converter = DurationConverter.class,
      description =
          "How long a claimed job stays this worker's without a heartbeat; after that another"
              + " worker rescues it. Default: 15s.")
  Duration lease;

  @Option(
      names = "--retention",
      paramLabel = "DURATION|none",
      defaultValue = "7d",
      converter = RetentionConverter.class,
      description = "Delete finished jobs this old (or 'none' to keep them). Default: 7d.")
  Retention retention;

  @Option(
      names = "--history-after",
      paramLabel = "DURATION",
      defaultValue = "1m",
      converter = DurationConverter.class,
      description =
          "Move finished jobs this old from taskbroker.job_queue to the partitioned history"
              + " (taskbroker.jobs shows both). Default: 1m.")
  Duration historyAfter;

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      converter = DurationConverter.class,
      description =
          "Default limit on one attempt, for jobs and plugins that set none. Default: no limit.")
  Duration timeout;

  @Option(
      names = "--prefetch",
      paramLabel = "N",
      defaultValue = "-1",
      description =
          "Per queue, the most claimed jobs that may wait beyond the running ones while jobs are"
              + " short (under 20 ms on average); fewer when they would be more than about 20 ms"
              + " of the queue's work. 0 claims only into free slots. Default: the claim batch.")
  int prefetch;

  @Option(
      names = "--prefetch-max-wait",
      paramLabel = "DURATION",
      defaultValue = "100ms",
      converter = DurationConverter.class,
      description =
          "How long a job claimed ahead may wait for a free slot here; past it (the jobs turned"
              + " out slower than they had been) it goes back to pending, its attempt given back,"
              + " for another worker. Default: 100ms.")
  Duration prefetchMaxWait;

  @Option(
      names = "--metrics-port",
      paramLabel = "PORT",
      description =
          "Serve GET /metrics (Prometheus text) and GET /health on this port (0: any free one)."
              + " Default: off.")
  Integer metricsPort;

  @Option(
      names = "--metrics-bind",
      paramLabel = "ADDRESS",
      defaultValue = "127.0.0.1",
      description =
          "Address the metrics port listens on: 0.0.0.0 for every interface. Default: 127.0.0.1"
              + " (this host only).")
  String metricsBind;

  @Option(
      names = "--metrics-interval",
      paramLabel = "DURATION",
      defaultValue = "10s",
      converter = DurationConverter.class,
      description = "How often the per-queue gauges are read from the database. Default: 10s.")
  Duration metricsInterval;

  @Option(
      names = "--dashboard-port",
      description = "Also serve the dashboard on this port (see 'taskbroker dashboard').")
  Integer dashboardPort;

  @Mixin DashboardOptions dashboard;

  @Mixin DatabaseOptions database;
  @Mixin VerboseOption verbose;

  WorkerCommand(CliContext context) {
    this.context = context;
  }

  @Override
  public Integer call() {
    InetSocketAddress metricsAddress = metricsAddress();
    PluginRegistry plugins = Plugins.load(pluginsDir, !noExamples);
    WorkerConfig.Builder configBuilder =
        WorkerConfig.builder()
            .queues(queues.withDefault(concurrency))
            .pollInterval(pollInterval)
            .lease(lease)
            .drainTimeout(drainTimeout)
            .retention(retention.keep())
            .historyAfter(historyAfter)
            .defaultTimeout(timeout)
            .prefetch(prefetch)
            .prefetchMaxWait(prefetchMaxWait);
    WorkerConfig config = configBuilder.build();
    DatabaseConfig databaseConfig =
        database.config(
            context.env(),
            "taskbroker-worker",
            Math.max(DatabaseConfig.DEFAULT_POOL_SIZE, config.queues().size() + 6));
    // Listening before connecting: a SIGTERM during start-up still ends in a clean stop.
    try (StopRequest stop = context.stopSignals().watch(drainTimeout.plus(STOP_MARGIN));
        Database db = Database.connect(databaseConfig);
        // Bound before the worker starts, so a port in use fails before anything is claimed;
        // closed after the worker stopped, so /health says so during the drain.
        MetricsEndpoint metrics =
            metricsAddress == null
                ? null
                : MetricsEndpoint.open(
                    metricsAddress, db, metricsInterval, secrets(databaseConfig))) {
      Migrations.migrate(db.dataSource());
      if (metrics != null) {
        config = configBuilder.listener(metrics.bind(db)).build();
      }
      Worker worker = Worker.start(db, config, plugins);
      if (metrics != null) {
        metrics.worker(worker);
        LOG.info(
            "Worker {} serves http://{}:{}/metrics and /health",
            worker.id(),
            metricsAddress.getHostString(),
            metrics.port());
      }
      TaskBrokerClient dashboardClient = null;
      Dashboard dashboardServer = null;
      if (dashboardPort != null) {
        dashboardClient =
            TaskBrokerClient.create(db, ClientConfig.builder().migrate(false).build());
        try {
          dashboardServer = dashboard.start(dashboardClient, dashboardPort, context.env());
        } catch (RuntimeException e) {
          worker.shutdown(drainTimeout, HandBack.REFUND);
          throw e;
        }
      }
      boolean failed = false;
      boolean graceful = true;
      try {
        LOG.info(
            "Worker {} runs plugins [{}] on queues {} against {}; SIGTERM or Ctrl-C drains for up"
                + " to {}",
            worker.id(),
            Plugins.names(plugins),
            config.queues(),
            databaseConfig.describe(),
            Durations.format(drainTimeout));
        while (!stop.await(HEALTH_CHECK)) {
          if (worker.health().status() == WorkerHealth.Status.FAILED) {
            failed = true;
            break;
          }
        }
        graceful = !failed && stop.graceful();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        if (dashboardServer != null) {
          dashboardServer.close();
          dashboardClient.close();
        }
        worker.shutdown(drainTimeout, graceful ? HandBack.REFUND : HandBack.SPEND);
      }
      if (failed) {
        WorkerHealth health = worker.health();
        LOG.error(
            "Worker {} failed: its unit {} died ({}); exiting with status {}",
            worker.id(),
            health.failedUnit().orElse("?"),
            health.failure().map(Throwable::toString).orElse("?"),
            ExitCodes.ERROR);
        return ExitCodes.ERROR;
      }
    }
    return ExitCodes.OK;
  }

  private InetSocketAddress metricsAddress() {
    if (metricsPort == null) {
      return null;
    }
    if (metricsPort < 0 || metricsPort > 65535) {
      throw new CliFailure(
          ExitCodes.USAGE, "--metrics-port must be between 0 and 65535, got " + metricsPort);
    }
    try {
      return new InetSocketAddress(InetAddress.getByName(metricsBind), metricsPort);
    } catch (UnknownHostException e) {
      throw new CliFailure(
          ExitCodes.USAGE, "--metrics-bind: not an address of this host: " + metricsBind);
    }
  }

  private static java.util.List<String> secrets(DatabaseConfig config) {
    return config.password() == null ? java.util.List.of() : java.util.List.of(config.password());
  }
}
