package io.taskbroker.bench;

import ch.qos.logback.classic.Level;
import com.sun.management.GarbageCollectionNotificationInfo;
import io.taskbroker.common.Database;
import io.taskbroker.common.DatabaseConfig;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.WorkerConfig;
import io.taskbroker.worker.plugins.PluginRegistry;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import javax.management.NotificationEmitter;
import javax.management.openmbean.CompositeData;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * One bench worker process: a {@link Worker} on the bench queue whose only plugin is {@link
 * NoopPlugin}. Spawned by the drain workload, never by hand.
 *
 * <p>The protocol, one line each on stdout: {@code READY <pid>} once the worker runs; then every
 * report interval {@code STAT <now µs> <written> <rejected> <last write µs> <heap used> <heap
 * committed> <heap after last GC> <held jobs>} (times are epoch microseconds, comparable with the
 * parent's clock on the same host); {@code STOPPED <written> <rejected>} after a graceful shutdown.
 * A line {@code STOP} on stdin, or stdin closing (the parent died), shuts the worker down. Every
 * other stdout line is a log line the parent forwards to its stderr. The database password comes in
 * the environment variable {@value #PASSWORD_VARIABLE}, not on the command line.
 */
@Command(name = "bench-worker", description = "A taskbroker bench worker process (internal).")
public final class BenchWorkerMain implements Callable<Integer> {
  static final String PASSWORD_VARIABLE = "TASKBROKER_BENCH_PASSWORD";
  private static final long SAMPLE_MILLIS = 4;

  @Option(names = "--jdbc-url", required = true)
  String jdbcUrl;

  @Option(names = "--user")
  String user;

  @Option(names = "--queue", required = true)
  String queue;

  @Option(names = "--worker-id", required = true)
  String workerId;

  @Option(names = "--concurrency", required = true)
  int concurrency;

  @Option(names = "--max-claim-batch", defaultValue = "0")
  int maxClaimBatch;

  @Option(names = "--completer-batch", defaultValue = "0")
  int completerBatch;

  @Option(names = "--pool-size", defaultValue = "0")
  int poolSize;

  @Option(names = "--no-prefetch", negatable = false)
  boolean noPrefetch;

  @Option(names = "--poll-ms", defaultValue = "0")
  long pollMillis;

  @Option(names = "--report-ms", defaultValue = "50")
  long reportMillis;

  @Option(names = "--log-level", defaultValue = "WARN")
  String logLevel;

  /** When the written-outcomes count last changed, in epoch microseconds. */
  private final AtomicLong lastWriteMicros = new AtomicLong();

  private final AtomicLong heapAfterGc = new AtomicLong(-1);

  public static void main(String[] args) {
    System.exit(new CommandLine(new BenchWorkerMain()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
        .setLevel(Level.toLevel(logLevel, Level.WARN));
    watchGarbageCollections();
    PrintStream out = System.out;
    DatabaseConfig.Builder databaseConfig =
        DatabaseConfig.builder()
            .jdbcUrl(jdbcUrl)
            .user(user)
            .password(System.getenv(PASSWORD_VARIABLE))
            .applicationName("taskbroker-bench-worker");
    if (poolSize > 0) {
      databaseConfig.poolSize(poolSize);
    }
    WorkerConfig.Builder config =
        WorkerConfig.builder().workerId(workerId).queue(queue, concurrency);
    if (maxClaimBatch > 0) {
      config.maxClaimBatch(maxClaimBatch);
    }
    if (completerBatch > 0) {
      config.completerBatch(completerBatch);
    }
    if (noPrefetch) {
      config.prefetch(0);
    }
    if (pollMillis > 0) {
      config.pollInterval(Duration.ofMillis(pollMillis));
    }
    try (Database database = Database.connect(databaseConfig.build())) {
      Worker worker =
          Worker.start(database, config.build(), PluginRegistry.of(List.of(new NoopPlugin())));
      Thread reporter = new Thread(() -> report(worker, out), "bench-reporter");
      reporter.setDaemon(true);
      synchronized (out) {
        out.println("READY " + ProcessHandle.current().pid());
        out.flush();
      }
      reporter.start();
      waitForStop();
      worker.shutdown(Duration.ofSeconds(10));
      reporter.interrupt();
      reporter.join(1000);
      synchronized (out) {
        out.println("STOPPED " + worker.completedWrites() + " " + worker.rejectedWrites());
        out.flush();
      }
    }
    return 0;
  }

  /** Returns on a STOP line or when stdin closes (the parent is gone). */
  private static void waitForStop() throws IOException {
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      if (line.trim().equals("STOP")) {
        return;
      }
    }
  }

  private void report(Worker worker, PrintStream out) {
    long written = 0;
    long nextReport = System.nanoTime();
    Runtime runtime = Runtime.getRuntime();
    while (!Thread.currentThread().isInterrupted()) {
      // Sampling every few milliseconds times the last write closely enough (a drain takes
      // seconds) without touching the worker's hot path; every 1 ms cost 2-3 % of a core.
      long now = worker.completedWrites();
      if (now != written) {
        written = now;
        lastWriteMicros.set(epochMicros());
      }
      if (System.nanoTime() >= nextReport) {
        long committed = runtime.totalMemory();
        long used = committed - runtime.freeMemory();
        String line =
            "STAT "
                + epochMicros()
                + " "
                + written
                + " "
                + worker.rejectedWrites()
                + " "
                + lastWriteMicros.get()
                + " "
                + used
                + " "
                + committed
                + " "
                + heapAfterGc.get()
                + " "
                + worker.runningCount();
        synchronized (out) {
          out.println(line);
          out.flush();
        }
        nextReport = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(reportMillis);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(SAMPLE_MILLIS));
    }
  }

  /** Keeps the heap in use right after the latest collection: the live set, for flatness. */
  private void watchGarbageCollections() {
    for (GarbageCollectorMXBean collector : ManagementFactory.getGarbageCollectorMXBeans()) {
      if (!(collector instanceof NotificationEmitter emitter)) {
        continue;
      }
      emitter.addNotificationListener(
          (notification, handback) -> {
            if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(
                notification.getType())) {
              return;
            }
            GarbageCollectionNotificationInfo info =
                GarbageCollectionNotificationInfo.from((CompositeData) notification.getUserData());
            long used = 0;
            for (Map.Entry<String, MemoryUsage> pool :
                info.getGcInfo().getMemoryUsageAfterGc().entrySet()) {
              if (isHeapPool(pool.getKey())) {
                used += pool.getValue().getUsed();
              }
            }
            heapAfterGc.set(used);
          },
          null,
          null);
    }
  }

  private static boolean isHeapPool(String name) {
    // Non-heap pools (code cache, metaspace) are reported too; keep only the heap's.
    return ManagementFactory.getMemoryPoolMXBeans().stream()
        .anyMatch(
            pool ->
                pool.getName().equals(name)
                    && pool.getType() == java.lang.management.MemoryType.HEAP);
  }

  static long epochMicros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
  }
}
