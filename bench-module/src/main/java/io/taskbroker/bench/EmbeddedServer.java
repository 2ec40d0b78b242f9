package io.taskbroker.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.common.Json;
import io.taskbroker.common.TaskBrokerException;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Comparator;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * The PostgreSQL that {@code taskbroker bench --embedded} starts for one run, from the zonky
 * binaries {@code taskbroker dev} uses: a new data directory, a free port on localhost, trust
 * authentication for {@value #USER}.
 *
 * <p>Settings are PostgreSQL's stock ones (autovacuum on, shared_buffers 128MB, ...) except three
 * that zonky sets: {@code fsync} and {@code synchronous_commit}, which zonky turns off and this
 * class turns back on, because a server that may lose commits would measure a different product;
 * and zonky's {@code max_connections=300} and server time zone UTC, which do not change the cost of
 * a job.
 *
 * <p>{@link #close()} stops the server and deletes its data directory and log. When the JVM dies
 * without closing, zonky's shutdown hook stops the server; after a SIGKILL the next zonky start in
 * the same working directory stops the orphan and deletes its data once it is ten minutes old.
 *
 * <p>Thread-safe: {@link #close()} may be called more than once, from any thread.
 */
final class EmbeddedServer implements AutoCloseable {
  static final String USER = "postgres";
  static final String DATABASE = "postgres";

  // The first start on a machine unpacks the binaries (~10 s on two cores); initdb adds ~2 s.
  private static final Duration STARTUP_WAIT = Duration.ofSeconds(90);
  private static final String PREFIX = "taskbroker-bench-";

  private final EmbeddedPostgres postgres;
  private final Path dataDirectory;
  private final Path logFile;
  private final String fileSystem;
  private final PrintStream log;
  private final AtomicBoolean closed = new AtomicBoolean();

  private EmbeddedServer(
      EmbeddedPostgres postgres,
      Path dataDirectory,
      Path logFile,
      String fileSystem,
      PrintStream log) {
    this.postgres = postgres;
    this.dataDirectory = dataDirectory;
    this.logFile = logFile;
    this.fileSystem = fileSystem;
    this.log = log;
  }

  /** The embedded server could not be had; the message says why in one line, for the user. */
  static final class StartFailedException extends TaskBrokerException {
    private static final long serialVersionUID = 1L;

    StartFailedException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * zonky's working directory, where it unpacks the binaries: {@code $TMPDIR/embedded-pg} unless
   * the system property {@code ot.epg.working-dir} says otherwise. Data directories created here
   * are cleaned up by zonky itself when a JVM was killed before it could stop its server.
   */
  static Path defaultParent() {
    return Path.of(
        System.getProperty(
            "ot.epg.working-dir",
            Path.of(System.getProperty("java.io.tmpdir"), "embedded-pg").toString()));
  }

  /**
   * Starts a server with a new data directory under {@code parent}.
   *
   * @throws StartFailedException when the directory cannot be made or the server does not start;
   *     the data directory is gone then, the server's log (when one was written) is kept and named
   */
  static EmbeddedServer start(Path parent, PrintStream log) {
    Path directory = parent.toAbsolutePath().normalize();
    String name = PREFIX + UUID.randomUUID();
    Path dataDirectory = directory.resolve(name);
    Path logFile = directory.resolve(name + ".log");
    String fileSystem;
    try {
      Files.createDirectories(directory);
      fileSystem = Files.getFileStore(directory).type();
    } catch (IOException | RuntimeException e) {
      throw new StartFailedException(
          "the embedded PostgreSQL did not start: cannot use "
              + directory
              + " for its data ("
              + oneLine(e)
              + ")",
          e);
    }
    log.printf("bench: starting an embedded PostgreSQL, data in %s%n", dataDirectory);
    long started = System.nanoTime();
    ProcessBuilder.Redirect serverLog = ProcessBuilder.Redirect.appendTo(logFile.toFile());
    EmbeddedPostgres postgres;
    try {
      postgres =
          EmbeddedPostgres.builder()
              .setDataDirectory(dataDirectory)
              .setCleanDataDirectory(true)
              .setServerConfig("fsync", "on")
              .setServerConfig("synchronous_commit", "on")
              .setPGStartupWait(STARTUP_WAIT)
              .setOutputRedirector(serverLog)
              .setErrorRedirector(serverLog)
              .start();
    } catch (IOException | RuntimeException e) {
      deleteQuietly(dataDirectory);
      throw new StartFailedException(
          "the embedded PostgreSQL did not start: "
              + oneLine(e)
              + (Files.exists(logFile) ? " (its log: " + logFile + ")" : ""),
          e);
    }
    log.printf(
        "bench: embedded PostgreSQL ready on localhost:%d after %.1f s%n",
        postgres.getPort(), (System.nanoTime() - started) / 1e9);
    return new EmbeddedServer(postgres, dataDirectory, logFile, fileSystem, log);
  }

  String jdbcUrl() {
    return "jdbc:postgresql://localhost:" + postgres.getPort() + "/" + DATABASE;
  }

  int port() {
    return postgres.getPort();
  }

  Path dataDirectory() {
    return dataDirectory;
  }

  /** For the report: where the server ran and on what kind of file system. */
  ObjectNode describe() {
    ObjectNode json = Json.object();
    json.put("kind", "embedded (zonky), started for this run and deleted afterwards");
    json.put("port", postgres.getPort());
    json.put("data_directory", dataDirectory.toString());
    json.put("file_system", fileSystem);
    return json;
  }

  /** Stops the server and deletes its data directory and log; logs rather than throws. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    // A shutdown checkpoint of a run's dirty buffers can outlast pg_ctl's 5 s stop wait, after
    // which zonky deletes the directory under a live server: write them out first.
    try (Connection connection = postgres.getPostgresDatabase().getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute("CHECKPOINT");
    } catch (SQLException e) {
      log.printf("bench: checkpoint before stopping the embedded PostgreSQL failed: %s%n", e);
    }
    try {
      postgres.close();
    } catch (IOException | RuntimeException e) {
      log.printf("bench: could not stop the embedded PostgreSQL cleanly: %s%n", oneLine(e));
    }
    // zonky deletes the data directory itself; this covers a close that gave up early.
    deleteQuietly(dataDirectory);
    if (Files.exists(dataDirectory)) {
      log.printf("bench: could not delete %s; delete it by hand%n", dataDirectory);
    } else {
      deleteQuietly(logFile);
      log.printf("bench: embedded PostgreSQL stopped; deleted %s%n", dataDirectory);
    }
  }

  private static void deleteQuietly(Path path) {
    if (!Files.exists(path)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(path)) {
      for (Path each : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(each);
      }
    } catch (IOException | UncheckedIOException e) {
      // The caller reports what is left.
    }
  }

  private static String oneLine(Throwable error) {
    String message = error.getMessage() == null ? error.toString() : error.getMessage();
    return message.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
  }
}
