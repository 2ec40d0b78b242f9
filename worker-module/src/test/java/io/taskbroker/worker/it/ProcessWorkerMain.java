package io.taskbroker.worker.it;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import io.taskbroker.common.Database;
import io.taskbroker.common.DatabaseConfig;
import io.taskbroker.worker.HandBack;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.WorkerConfig;
import io.taskbroker.worker.WorkerHealth;
import io.taskbroker.worker.plugins.PluginRegistry;
import io.taskbroker.worker.process.ProcessStopSignals;
import io.taskbroker.worker.process.StopSignals.StopRequest;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.slf4j.LoggerFactory;

/**
 * A real worker in a JVM of its own, for the crash tests. Arguments are {@code --key=value}: {@code
 * url}, {@code user}, {@code password}, {@code concurrency}, {@code lease-ms}, {@code
 * heartbeat-ms}, {@code rescue-ms}, {@code poll-ms}, {@code drain-ms}.
 *
 * <p>Prints {@code WORKER <id>} before the worker starts (a poison job may kill the JVM before
 * anything else is printed) and {@code READY <id>} once it runs. It stops as the {@code taskbroker
 * worker} command does, through {@link ProcessStopSignals}: SIGTERM stops it gracefully (stop
 * claiming, drain, hand back with the attempt refunded; exit 143 as a JVM stopped by SIGTERM);
 * {@code System.exit} from a plugin drains too but spends the attempts it hands back; a worker that
 * failed (an Error on a unit) exits 1, and so does one that could not start.
 */
public final class ProcessWorkerMain {
  private ProcessWorkerMain() {}

  public static void main(String[] args) throws InterruptedException {
    quietLogging();
    Map<String, String> options = parse(args);
    String url = required(options, "url");
    String user = required(options, "user");
    String password = options.getOrDefault("password", "");
    int concurrency = Integer.parseInt(options.getOrDefault("concurrency", "4"));

    Database database =
        Database.connect(
            DatabaseConfig.builder()
                .jdbcUrl(url)
                .user(user)
                .password(password.isEmpty() ? null : password)
                .poolSize(Integer.parseInt(options.getOrDefault("pool-size", "8")))
                .connectTimeout(Duration.ofSeconds(5))
                .applicationName("it-worker")
                .build());
    WorkerConfig config =
        WorkerConfig.builder()
            .concurrency(concurrency)
            .lease(millis(options, "lease-ms", 3_000))
            .heartbeatInterval(millis(options, "heartbeat-ms", 500))
            .rescueInterval(millis(options, "rescue-ms", 500))
            .pollInterval(millis(options, "poll-ms", 500))
            .drainTimeout(millis(options, "drain-ms", 5_000))
            .build();
    String workerId = config.workerId();
    System.out.println("WORKER " + workerId + " pid " + ProcessHandle.current().pid());
    System.out.flush();

    ExecutionRecorder recorder = new ExecutionRecorder(url, user, password);
    PluginRegistry plugins = PluginRegistry.of(TestPlugins.all(recorder, workerId));
    StopRequest stop =
        new ProcessStopSignals().watch(config.drainTimeout().plus(Duration.ofSeconds(30)));
    Worker worker;
    try {
      worker = Worker.start(database, config, plugins);
    } catch (RuntimeException e) {
      // E.g. its registration met a terminated connection (the chaos test). Exit at once and
      // non-zero, as the worker command does, rather than let the stop hook wait for a drain
      // that never comes.
      System.out.println("START FAILED " + workerId + ": " + e);
      System.out.flush();
      stop.close();
      recorder.close();
      database.close();
      System.exit(1);
      return;
    }
    exitWhenTheTestIsGone();
    System.out.println("READY " + workerId);
    System.out.flush();
    boolean failed = false;
    while (!stop.await(Duration.ofMillis(200))) {
      if (worker.health().status() == WorkerHealth.Status.FAILED) {
        failed = true;
        break;
      }
    }
    boolean graceful = !failed && stop.graceful();
    System.out.println("SHUTDOWN " + workerId + (graceful ? "" : " (attempts spent)"));
    System.out.flush();
    worker.shutdown(config.drainTimeout(), graceful ? HandBack.REFUND : HandBack.SPEND);
    recorder.close();
    database.close();
    System.out.println("STOPPED " + workerId);
    System.out.flush();
    stop.close();
    // While the JVM is exiting unasked, this exit waits for it and the first status stands.
    System.exit(failed ? 1 : 143);
  }

  /**
   * Exits (gracefully) when the test JVM that started us is gone, even if it was killed before it
   * could kill us, rather than linger and poll a dropped database. (Not end-of-input on stdin:
   * {@code Process.destroy()} closes that pipe as it sends SIGTERM, which would race the signal.)
   */
  private static void exitWhenTheTestIsGone() {
    ProcessHandle.current()
        .parent()
        .ifPresent(
            parent ->
                parent
                    .onExit()
                    .thenRun(
                        () -> {
                          System.out.println("TEST JVM GONE; exiting");
                          System.exit(3);
                        }));
  }

  /** INFO for taskbroker (its lifecycle and failure lines are what the tests read), WARN else. */
  private static void quietLogging() {
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.setLevel(Level.WARN);
    ((Logger) LoggerFactory.getLogger("io.taskbroker")).setLevel(Level.INFO);
  }

  private static Map<String, String> parse(String[] args) {
    Map<String, String> options = new HashMap<>();
    for (String arg : args) {
      if (!arg.startsWith("--") || !arg.contains("=")) {
        throw new IllegalArgumentException("expected --key=value, got '" + arg + "'");
      }
      int equals = arg.indexOf('=');
      options.put(arg.substring(2, equals), arg.substring(equals + 1));
    }
    return options;
  }

  private static String required(Map<String, String> options, String key) {
    String value = options.get(key);
    if (value == null) {
      throw new IllegalArgumentException("missing --" + key + "=...");
    }
    return value;
  }

  private static Duration millis(Map<String, String> options, String key, long fallback) {
    return Duration.ofMillis(Long.parseLong(options.getOrDefault(key, Long.toString(fallback))));
  }
}
