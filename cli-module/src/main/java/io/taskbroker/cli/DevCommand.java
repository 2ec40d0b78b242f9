package io.taskbroker.cli;

import io.taskbroker.cli.internal.CliContext;
import io.taskbroker.cli.internal.CliFailure;
import io.taskbroker.cli.internal.DataDirLock;
import io.taskbroker.cli.internal.ExitCodes;
import io.taskbroker.cli.internal.Plugins;
import io.taskbroker.cli.internal.VerboseOption;
import io.taskbroker.common.Database;
import io.taskbroker.common.DatabaseConfig;
import io.taskbroker.common.Migrations;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.WorkerConfig;
import io.taskbroker.worker.plugins.PluginRegistry;
import io.taskbroker.worker.process.StopSignals.StopRequest;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code taskbroker dev}: an embedded PostgreSQL whose data stays in a local directory, and a
 * worker with the example plugins, in one process. Stops in order on SIGTERM or Ctrl-C: the worker
 * drains, then the pool closes, then PostgreSQL shuts down.
 */
@Command(
    name = "dev",
    mixinStandardHelpOptions = true,
    description = {
      "Run a local PostgreSQL (embedded; data kept in --data-dir across restarts) and a worker"
          + " with the example plugins, in one process, until Ctrl-C.",
      "For trying taskbroker out and for development: fsync is off, so a machine crash may"
          + " lose data."
    })
final class DevCommand implements Callable<Integer> {
  /** The line that says everything is up; scripts and tests wait for it. */
  static final String READY = "taskbroker dev is ready";

  private static final Logger LOG = LoggerFactory.getLogger(DevCommand.class);
  private static final Duration POSTGRES_STARTUP_WAIT = Duration.ofSeconds(60);

  private final CliContext context;

  @Option(
      names = "--data-dir",
      paramLabel = "DIR",
      defaultValue = ".taskbroker/dev-data",
      description = "Where PostgreSQL keeps its data between runs. Default: ${DEFAULT-VALUE}.")
  Path dataDir;

  @Option(
      names = "--port",
      defaultValue = "54329",
      description = "Port PostgreSQL listens on (localhost only). Default: ${DEFAULT-VALUE}.")
  int port;

  @Option(
      names = "--concurrency",
      paramLabel = "N",
      defaultValue = "" + WorkerConfig.DEFAULT_CONCURRENCY,
      description = "Jobs the worker runs at once. Default: ${DEFAULT-VALUE}.")
  int concurrency;

  @Option(
      names = "--plugins-dir",
      paramLabel = "DIR",
      description = "Directory of plugin jars to run besides the examples.")
  Path pluginsDir;

  @Mixin VerboseOption verbose;

  DevCommand(CliContext context) {
    this.context = context;
  }

  @Override
  @SuppressWarnings("try") // the lock is held by being open
  public Integer call() {
    if (port < 1 || port > 65535) {
      throw new CliFailure(ExitCodes.USAGE, "--port must be between 1 and 65535, got " + port);
    }
    Path dir = dataDir.toAbsolutePath().normalize();
    Path pgData = dir.resolve("postgres");
    Path pgLog = dir.resolve("postgres.log");
    PluginRegistry plugins = Plugins.load(pluginsDir, true);
    WorkerConfig config =
        WorkerConfig.builder().queue(WorkerConfig.DEFAULT_QUEUE, concurrency).build();
    try (DataDirLock lock = DataDirLock.acquire(dir)) {
      refuseLeftoverPostgres(pgData);
      refuseBusyPort(port);
      try (StopRequest stop =
          context.stopSignals().watch(config.drainTimeout().plus(Duration.ofSeconds(60)))) {
        EmbeddedPostgres postgres = startPostgres(pgData, pgLog);
        try {
          runWorker(config, plugins, dir, stop);
        } finally {
          stopPostgres(postgres);
        }
      }
    }
    return ExitCodes.OK;
  }

  private void runWorker(WorkerConfig config, PluginRegistry plugins, Path dir, StopRequest stop) {
    String url = "postgresql://postgres@localhost:" + port + "/postgres";
    DatabaseConfig databaseConfig =
        DatabaseConfig.builder().url(url).applicationName("taskbroker-dev").build();
    try (Database db = Database.connect(databaseConfig)) {
      Migrations.migrate(db.dataSource());
      Worker worker = Worker.start(db, config, plugins);
      try {
        printReady(context.out(), url, dir, plugins);
        stop.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        worker.shutdown();
      }
    }
  }

  private EmbeddedPostgres startPostgres(Path pgData, Path pgLog) {
    LOG.info("Starting PostgreSQL on localhost:{} with data in {}", port, pgData);
    ProcessBuilder.Redirect log = ProcessBuilder.Redirect.appendTo(pgLog.toFile());
    try {
      return EmbeddedPostgres.builder()
          .setDataDirectory(pgData)
          .setCleanDataDirectory(false)
          .setPort(port)
          .setPGStartupWait(POSTGRES_STARTUP_WAIT)
          .setOutputRedirector(log)
          .setErrorRedirector(log)
          .start();
    } catch (IOException | RuntimeException e) {
      throw new CliFailure(
          ExitCodes.ERROR,
          "the embedded PostgreSQL did not start: " + e.getMessage() + " (its log: " + pgLog + ")",
          e);
    }
  }

  private static void stopPostgres(EmbeddedPostgres postgres) {
    try {
      postgres.close();
      LOG.info("PostgreSQL stopped");
    } catch (IOException | RuntimeException e) {
      LOG.warn("Could not stop the embedded PostgreSQL cleanly: {}", e.toString());
    }
  }

  /**
   * A dev process killed with SIGKILL leaves its PostgreSQL running on the data directory; a new
   * one must not start beside it (the lock above only covers live dev processes).
   */
  private static void refuseLeftoverPostgres(Path pgData) {
    Path pidFile = pgData.resolve("postmaster.pid");
    if (!Files.exists(pidFile)) {
      return;
    }
    long pid;
    try {
      pid = Long.parseLong(Files.readAllLines(pidFile).get(0).strip());
    } catch (IOException | RuntimeException e) {
      // Unreadable or empty: PostgreSQL itself judges a stale pid file on start.
      return;
    }
    Optional<ProcessHandle> process = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
    boolean isPostgres =
        process
            .flatMap(handle -> handle.info().command())
            .map(c -> c.endsWith("postgres"))
            .orElse(true);
    if (process.isPresent() && isPostgres) {
      throw new CliFailure(
          ExitCodes.ERROR,
          "a PostgreSQL (pid "
              + pid
              + ") left by an earlier 'taskbroker dev' still runs on "
              + pgData
              + "; stop it (kill "
              + pid
              + ") and start again");
    }
  }

  private static void refuseBusyPort(int port) {
    try (ServerSocket socket = new ServerSocket()) {
      socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
    } catch (IOException e) {
      throw new CliFailure(
          ExitCodes.ERROR,
          "port " + port + " on localhost is already in use; pick another with --port");
    }
  }

  private static void printReady(PrintWriter out, String url, Path dir, PluginRegistry plugins) {
    out.println(
        READY
            + ": PostgreSQL at "
            + url
            + " (data in "
            + dir
            + "), a worker running "
            + Plugins.names(plugins)
            + " on queue "
            + WorkerConfig.DEFAULT_QUEUE
            + ".");
    out.println("  psql:    psql " + url);
    out.println(
        "  submit:  "
            + jarCommand()
            + " submit echo --payload '{\"x\":1}' --database-url "
            + url
            + " --wait");
    out.println("  or:      export DATABASE_URL=" + url + "  (then leave out --database-url)");
    out.println("Stop with Ctrl-C.");
    out.flush();
  }

  /** How this jar is started, as the user would type it. */
  private static String jarCommand() {
    try {
      Path location =
          Path.of(DevCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      if (location.toString().endsWith(".jar")) {
        Path here = Path.of("").toAbsolutePath();
        Path shown = location.startsWith(here) ? here.relativize(location) : location;
        String text = shown.toString();
        return "java -jar " + (text.contains(" ") ? "'" + text + "'" : text);
      }
    } catch (URISyntaxException | RuntimeException e) {
      // Fall through to the usual path.
    }
    return "java -jar cli-module/target/taskbroker.jar";
  }
}
