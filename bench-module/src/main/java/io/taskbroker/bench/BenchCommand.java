package io.taskbroker.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.common.Database;
import io.taskbroker.common.DatabaseConfig;
import io.taskbroker.common.Json;
import io.taskbroker.common.QueueLimits;
import io.taskbroker.common.TaskBrokerException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code taskbroker bench}: runs the standard workloads against a database and prints a table (or
 * JSON). Modelled on {@code river bench}. Works in queues of its own ({@code bench-<random>-…}) and
 * deletes their jobs afterwards, so it is safe against a database with real jobs; but it loads the
 * server, so do not run it against a production primary at busy hours. With {@code --embedded} it
 * runs against a PostgreSQL of its own ({@link EmbeddedServer}) instead.
 *
 * <p>Exit status: 0 when every workload ran and verified, 1 when one failed (the report says which)
 * or the embedded server did not start, 2 for a bad option. Usable as a subcommand of the {@code
 * taskbroker} command line or alone through {@link BenchMain}.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Run the standard benchmark workloads and print a table (or JSON).",
      "",
      "Workloads: drain (N no-op jobs inserted in one transaction, drained by P worker JVMs,"
          + " timed from the commit; by the fresh workers (cold), then N more (warm)), enqueue"
          + " (single-row submits with NOTIFY against plain INSERTs as the commit rate, and"
          + " batched submitAll), latency (submit -> plugin start with an in-process worker,"
          + " idle and at a fixed open-loop rate).",
      "",
      "Jobs live in queues named bench-<random>-... and are deleted afterwards. WAL and"
          + " WAL-sync figures are cluster-wide: run on an otherwise idle server. After each"
          + " drain the health of taskbroker.job_queue (live and dead tuples, table and claim-index"
          + " size, autovacuum runs) is reported.",
      "",
      "With --embedded the bench starts a PostgreSQL of its own, so a machine with only a JDK"
          + " can run it.",
      ""
    })
public final class BenchCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--database-url",
      paramLabel = "URL",
      description =
          "postgresql://user:pass@host:port/db or jdbc:postgresql://...; default DATABASE_URL,"
              + " else PGHOST/PGPORT/PGUSER/PGPASSWORD/PGDATABASE, else localhost:5432")
  String databaseUrl;

  @Option(
      names = "--embedded",
      description =
          "Start an embedded PostgreSQL 15 for this run (as 'taskbroker dev' does, but with fsync"
              + " and synchronous_commit on, autovacuum on, other settings stock), run against"
              + " it, then stop it and delete its data. Not with --database-url.")
  boolean embedded;

  @Option(
      names = "--embedded-dir",
      paramLabel = "DIR",
      description =
          "--embedded: where its data directory is made (put it on the disk to measure);"
              + " default: $TMPDIR/embedded-pg.")
  Path embeddedDirectory;

  @Option(
      names = "--workload",
      split = ",",
      paramLabel = "NAME",
      description =
          "drain, enqueue, latency, soak (comma-separated); default: all but soak, which is long")
  List<String> workloads = new ArrayList<>(BenchSettings.WORKLOADS);

  @Option(names = "--json", description = "Print the report as JSON instead of the table.")
  boolean json;

  @Option(
      names = "--repeat",
      paramLabel = "N",
      defaultValue = "1",
      description = "Run each workload this many times; report medians (default ${DEFAULT-VALUE}).")
  int repeat;

  @Option(
      names = "--jobs",
      paramLabel = "N",
      defaultValue = "100000",
      description = "drain: jobs to load and drain (default ${DEFAULT-VALUE}).")
  int jobs;

  @Option(
      names = "--warmup-jobs",
      paramLabel = "N",
      defaultValue = "0",
      description =
          "drain: jobs the workers run first, untimed, so the JIT has compiled the hot path;"
              + " N > 0 makes --phases default to warm (default ${DEFAULT-VALUE}).")
  int warmupJobs;

  @Option(
      names = "--phases",
      split = ",",
      paramLabel = "PHASE",
      description =
          "drain: the timed phases, each of --jobs jobs on the same worker JVMs: cold,warm (the"
              + " first jobs the fresh workers see, then as many again), cold, or warm (after"
              + " --warmup-jobs untimed jobs); default: cold,warm, or warm with --warmup-jobs.")
  List<String> phases;

  @Option(
      names = "--processes",
      paramLabel = "N",
      defaultValue = "1",
      description = "drain: worker JVMs (default ${DEFAULT-VALUE}).")
  int processes;

  @Option(
      names = "--concurrency",
      paramLabel = "N",
      defaultValue = "256",
      description = "drain: concurrency of each worker (default ${DEFAULT-VALUE}).")
  int concurrency;

  @Option(
      names = "--max-claim-batch",
      paramLabel = "N",
      defaultValue = "0",
      description = "drain: the workers' maxClaimBatch; 0 = the worker default.")
  int maxClaimBatch;

  @Option(
      names = "--completer-batch",
      paramLabel = "N",
      defaultValue = "0",
      description = "drain: the workers' completerBatch; 0 = the worker default.")
  int completerBatch;

  @Option(
      names = "--pool-size",
      paramLabel = "N",
      defaultValue = "0",
      description = "drain: the workers' connection pool size; 0 = the default.")
  int poolSize;

  @Option(
      names = "--worker-jvm-options",
      paramLabel = "FLAGS",
      defaultValue = "-Xmx256m -XX:+UseSerialGC",
      description = "drain: JVM flags of each worker, space-separated (default ${DEFAULT-VALUE}).")
  String workerJvmOptions;

  @Option(
      names = "--worker-classpath",
      paramLabel = "PATH",
      description = "drain: class path of the worker JVMs; default: this JVM's.")
  String workerClasspath;

  @Option(
      names = "--insert-batch",
      paramLabel = "N",
      defaultValue = "10000",
      description = "drain: jobs per insert statement while loading (default ${DEFAULT-VALUE}).")
  int insertBatch;

  @Option(
      names = "--drain-timeout",
      paramLabel = "DURATION",
      defaultValue = "10m",
      converter = DurationConverter.class,
      description = "drain: give up after this long (default ${DEFAULT-VALUE}).")
  Duration drainTimeout;

  @Option(
      names = "--memory-interval",
      paramLabel = "DURATION",
      defaultValue = "2s",
      converter = DurationConverter.class,
      description = "drain: how often to sample the workers' RSS (default ${DEFAULT-VALUE}).")
  Duration memoryInterval;

  @Option(
      names = "--enqueue-single-jobs",
      paramLabel = "N",
      defaultValue = "5000",
      description = "enqueue: jobs per single-row run (default ${DEFAULT-VALUE}).")
  int singleJobs;

  @Option(
      names = "--enqueue-threads",
      paramLabel = "N",
      split = ",",
      defaultValue = "1,8",
      description = "enqueue: one single-row run per thread count (default ${DEFAULT-VALUE}).")
  List<Integer> singleThreads;

  @Option(
      names = "--no-commit-reference",
      negatable = false,
      description = "enqueue: skip the plain-INSERT (no NOTIFY) commit-rate reference.")
  boolean noCommitReference;

  @Option(
      names = "--enqueue-batch-jobs",
      paramLabel = "N",
      defaultValue = "100000",
      description = "enqueue: jobs per batched run (default ${DEFAULT-VALUE}).")
  int batchJobs;

  @Option(
      names = "--enqueue-batch-sizes",
      paramLabel = "N",
      split = ",",
      defaultValue = "1000,10000",
      description = "enqueue: one batched run per batch size (default ${DEFAULT-VALUE}).")
  List<Integer> batchSizes;

  @Option(
      names = "--latency-samples",
      paramLabel = "N",
      defaultValue = "1000",
      description = "latency: idle samples (default ${DEFAULT-VALUE}).")
  int latencySamples;

  @Option(
      names = "--latency-gap",
      paramLabel = "DURATION",
      defaultValue = "20ms",
      converter = DurationConverter.class,
      description = "latency: each idle sample first waits U(0, this) (default ${DEFAULT-VALUE}).")
  Duration latencyGap;

  @Option(
      names = "--latency-concurrency",
      paramLabel = "N",
      defaultValue = "8",
      description = "latency: the in-process worker's concurrency (default ${DEFAULT-VALUE}).")
  int latencyConcurrency;

  @Option(
      names = "--rate",
      defaultValue = "500/s",
      paramLabel = "N/s",
      description =
          "latency, soak: open-loop arrival rate; 0 skips the latency one (default"
              + " ${DEFAULT-VALUE}).")
  String rate;

  @Option(
      names = "--rate-duration",
      paramLabel = "DURATION",
      defaultValue = "10s",
      converter = DurationConverter.class,
      description = "latency: how long the open-loop run submits (default ${DEFAULT-VALUE}).")
  Duration rateDuration;

  @Option(
      names = "--rate-senders",
      paramLabel = "N",
      defaultValue = "8",
      description = "latency: threads submitting on the timetable (default ${DEFAULT-VALUE}).")
  int rateSenders;

  @Option(
      names = "--queue-limit",
      split = ",",
      paramLabel = "LIMIT",
      description =
          "drain: set these limits on each drain queue before its workers start, so its claims"
              + " go through taskbroker.claim_limited: global=N, key=N, rate=N or rate=N/PERIOD"
              + " (e.g. global=100000,rate=1000000/1s); default: none (the plain claim).")
  List<String> queueLimits = new ArrayList<>();

  @Option(
      names = "--concurrency-keys",
      paramLabel = "N",
      defaultValue = "0",
      description =
          "drain: give the jobs concurrency keys k0..k(N-1) round-robin (for key=N); 0: none.")
  int concurrencyKeys;

  @Option(
      names = "--no-prefetch",
      negatable = false,
      description =
          "drain: the workers claim no jobs ahead (prefetch 0), as they do on a limited queue.")
  boolean noPrefetch;

  @Option(
      names = "--soak-duration",
      paramLabel = "DURATION",
      defaultValue = "30m",
      converter = DurationConverter.class,
      description = "soak: how long jobs arrive at --rate (default ${DEFAULT-VALUE}).")
  Duration soakDuration;

  @Option(
      names = "--report-every",
      paramLabel = "DURATION",
      defaultValue = "1m",
      converter = DurationConverter.class,
      description = "soak: one report line per this much time (default ${DEFAULT-VALUE}).")
  Duration reportEvery;

  @Option(
      names = "--history-rows",
      paramLabel = "N",
      defaultValue = "0",
      description =
          "soak: first make the table hold N finished jobs, inserting the missing ones into the"
              + " queue bench-history (kept afterwards, so it is built once) (default"
              + " ${DEFAULT-VALUE}).")
  long historyRows;

  @Option(
      names = "--no-vacuum",
      negatable = false,
      description = "Do not VACUUM taskbroker.job_queue before each run.")
  boolean noVacuum;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (embedded && databaseUrl != null) {
      err.println("taskbroker bench: --embedded and --database-url exclude each other; give one");
      return 2;
    }
    if (embeddedDirectory != null && !embedded) {
      err.println("taskbroker bench: --embedded-dir only applies with --embedded");
      return 2;
    }
    BenchSettings settings;
    DatabaseConfig config;
    try {
      settings = settings();
      // With --embedded the server's address is known once it runs, below.
      config =
          embedded
              ? null
              : config(settings, DatabaseConfig.fromEnvironment(System.getenv(), databaseUrl));
    } catch (TaskBrokerException | IllegalArgumentException e) {
      err.println("taskbroker bench: " + e.getMessage());
      return 2;
    } catch (CommandLine.TypeConversionException e) {
      err.println("taskbroker bench: --queue-limit: " + e.getMessage());
      return 2;
    }
    PrintStream log = new PrintStream(new WriterOutputStream(err), true);
    if (!embedded) {
      return run(settings, config, null, out, err, log);
    }
    EmbeddedServer server;
    try {
      server =
          EmbeddedServer.start(
              embeddedDirectory == null ? EmbeddedServer.defaultParent() : embeddedDirectory, log);
    } catch (EmbeddedServer.StartFailedException e) {
      err.println("taskbroker bench: " + e.getMessage());
      return 1;
    }
    try (server) {
      DatabaseConfig embeddedConfig =
          config(
              settings,
              DatabaseConfig.builder().jdbcUrl(server.jdbcUrl()).user(EmbeddedServer.USER).build());
      return run(settings, embeddedConfig, server, out, err, log);
    }
  }

  /** The bench's connection settings: the server's address, a pool sized for the workloads. */
  private DatabaseConfig config(BenchSettings settings, DatabaseConfig server) {
    // Room for the rate senders or enqueue threads next to the in-process worker's needs.
    int pool =
        Math.max(
            DatabaseConfig.DEFAULT_POOL_SIZE,
            Math.max(
                    rateSenders,
                    settings.singleThreads().stream().mapToInt(Integer::intValue).max().orElse(1))
                + 6);
    return DatabaseConfig.builder()
        .jdbcUrl(server.jdbcUrl())
        .user(server.user())
        .password(server.password())
        .poolSize(pool)
        .connectTimeout(server.connectTimeout())
        .applicationName("taskbroker-bench")
        .build();
  }

  /**
   * Runs the workloads and prints the report.
   *
   * @param server the embedded server the database lives on, or null for the user's server
   */
  private int run(
      BenchSettings settings,
      DatabaseConfig config,
      EmbeddedServer server,
      PrintWriter out,
      PrintWriter err,
      PrintStream log) {
    try (Database database = Database.connect(config)) {
      ObjectNode report = new BenchRunner(settings, database, log).run();
      if (server != null) {
        ((ObjectNode) report.get("server")).set("embedded", server.describe());
      }
      if (json) {
        out.println(Json.mapper().writerWithDefaultPrettyPrinter().writeValueAsString(report));
      } else {
        out.print(BenchReport.table(report));
      }
      out.flush();
      return report.path("ok").asBoolean() ? 0 : 1;
    } catch (TaskBrokerException e) {
      err.println("taskbroker bench: " + e.getMessage());
      return 1;
    } catch (SQLException e) {
      err.println("taskbroker bench: database error: " + e.getMessage());
      return 1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      err.println("taskbroker bench: interrupted");
      return 1;
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      err.println("taskbroker bench: cannot write the report: " + e.getMessage());
      return 1;
    }
  }

  BenchSettings settings() {
    return new BenchSettings(
        new LinkedHashSet<>(
            workloads.stream().map(name -> name.trim().toLowerCase(Locale.ROOT)).toList()),
        jobs,
        warmupJobs,
        phases == null
            ? BenchSettings.defaultPhases(warmupJobs)
            : phases.stream().map(name -> name.trim().toLowerCase(Locale.ROOT)).toList(),
        processes,
        concurrency,
        maxClaimBatch,
        completerBatch,
        poolSize,
        BenchEnvironment.javaCommand(),
        workerClasspath == null ? System.getProperty("java.class.path") : workerClasspath,
        workerJvmOptions.isBlank()
            ? List.of()
            : Arrays.asList(workerJvmOptions.trim().split("\\s+")),
        insertBatch,
        drainTimeout,
        memoryInterval,
        singleJobs,
        singleThreads,
        !noCommitReference,
        batchJobs,
        batchSizes,
        latencySamples,
        latencyGap,
        latencyConcurrency,
        parseRate(rate),
        rateDuration,
        rateSenders,
        repeat,
        !noVacuum,
        parseQueueLimits(queueLimits),
        concurrencyKeys,
        noPrefetch,
        new SoakSettings(soakDuration, reportEvery, historyRows));
  }

  /** {@code global=N}, {@code key=N}, {@code rate=N} or {@code rate=N/PERIOD}, any combination. */
  static QueueLimits parseQueueLimits(List<String> parts) {
    Integer global = null;
    Integer key = null;
    Integer rate = null;
    Duration period = null;
    for (String part : parts) {
      String text = part.trim().toLowerCase(Locale.ROOT);
      int equals = text.indexOf('=');
      if (equals < 0) {
        throw new IllegalArgumentException(
            "--queue-limit takes global=N, key=N or rate=N[/PERIOD], got '" + part + "'");
      }
      String name = text.substring(0, equals).trim();
      String value = text.substring(equals + 1).trim();
      switch (name) {
        case "global" -> global = limitValue(part, value);
        case "key" -> key = limitValue(part, value);
        case "rate" -> {
          int slash = value.indexOf('/');
          rate = limitValue(part, slash < 0 ? value : value.substring(0, slash));
          period = slash < 0 ? null : new DurationConverter().convert(value.substring(slash + 1));
        }
        default ->
            throw new IllegalArgumentException(
                "--queue-limit: unknown limit '" + name + "'; choose from global, key, rate");
      }
    }
    // QueueLimits validates the values (at least 1, a period of at most a day).
    return new QueueLimits(global, rate, period, key);
  }

  private static int limitValue(String part, String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "--queue-limit: '" + part + "' needs a whole number, like global=100000");
    }
  }

  /** {@code 500/s}, {@code 500} or {@code 0}. */
  static double parseRate(String text) {
    String value = text.trim().toLowerCase(Locale.ROOT);
    if (value.endsWith("/s")) {
      value = value.substring(0, value.length() - 2).trim();
    }
    try {
      return Double.parseDouble(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--rate must look like 500/s, got '" + text + "'");
    }
  }

  /** Durations as {@code 250ms}, {@code 10s}, {@code 2m}, or ISO-8601 ({@code PT10S}). */
  static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      String text = value.trim().toLowerCase(Locale.ROOT);
      try {
        if (text.startsWith("pt")) {
          return Duration.parse(text.toUpperCase(Locale.ROOT));
        }
        if (text.endsWith("ms")) {
          return Duration.ofMillis(Long.parseLong(text.substring(0, text.length() - 2)));
        }
        if (text.endsWith("s")) {
          return Duration.ofMillis(
              Math.round(Double.parseDouble(text.substring(0, text.length() - 1)) * 1000));
        }
        if (text.endsWith("m")) {
          return Duration.ofSeconds(Long.parseLong(text.substring(0, text.length() - 1)) * 60);
        }
      } catch (RuntimeException e) {
        // Falls through to the message below.
      }
      throw new CommandLine.TypeConversionException(
          "'" + value + "' is not a duration like 250ms, 10s or 2m");
    }
  }

  /** Sends the bench's progress lines to the command line's error writer, with elapsed time. */
  private static final class WriterOutputStream extends java.io.OutputStream {
    private final PrintWriter writer;
    private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();
    private final long startNanos = System.nanoTime();

    WriterOutputStream(PrintWriter writer) {
      this.writer = writer;
    }

    @Override
    public synchronized void write(int b) {
      if (b == '\n') {
        writer.printf(
            Locale.ROOT,
            "[%7.1fs] %s%n",
            (System.nanoTime() - startNanos) / 1e9,
            line.toString(java.nio.charset.StandardCharsets.UTF_8));
        writer.flush();
        line.reset();
      } else {
        line.write(b);
      }
    }
  }
}
