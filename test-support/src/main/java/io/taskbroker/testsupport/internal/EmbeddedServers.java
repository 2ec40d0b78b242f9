package io.taskbroker.testsupport.internal;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * How this project starts an embedded (zonky) PostgreSQL: the same settings for the shared server
 * and for every dedicated one. Stateless and thread-safe.
 */
public final class EmbeddedServers {

  /** The superuser zonky's initdb creates; it logs in with trust authentication, no password. */
  public static final String SUPERUSER = "postgres";

  /** The database initdb creates. */
  public static final String DEFAULT_DATABASE = "postgres";

  // Generous: the first start unpacks the binaries, and CI machines have two cores.
  private static final Duration STARTUP_WAIT = Duration.ofSeconds(60);
  private static final Duration POLL_INTERVAL = Duration.ofMillis(20);

  private EmbeddedServers() {}

  /**
   * A builder for an embedded server keeping its data in {@code dataDirectory}.
   *
   * <p>zonky's defaults turn {@code fsync} and {@code synchronous_commit} off for speed. We turn
   * them back on: crash tests kill processes mid-transaction and must see what a real server keeps.
   * The server's own time zone stays zonky's UTC; sessions take the JVM's zone from the driver.
   */
  public static EmbeddedPostgres.Builder builder(Path dataDirectory) {
    return EmbeddedPostgres.builder()
        .setDataDirectory(dataDirectory)
        .setServerConfig("fsync", "on")
        .setServerConfig("synchronous_commit", "on")
        .setServerConfig("max_connections", "300")
        .setServerConfig("shared_buffers", "128MB")
        .setPGStartupWait(STARTUP_WAIT);
  }

  /**
   * A data directory, not yet created, for a new embedded server. It lies in zonky's working
   * directory: when a JVM dies without stopping its server, the next JVM to start one there stops
   * the orphaned postmaster and deletes its data once its lock file is ten minutes old.
   */
  public static Path newDataDirectory(String prefix) {
    String temporary = System.getProperty("java.io.tmpdir");
    String workingDirectory =
        System.getProperty("ot.epg.working-dir", Path.of(temporary, "embedded-pg").toString());
    return Path.of(workingDirectory, prefix + UUID.randomUUID());
  }

  /** The JDBC URL of {@code database} on an embedded server listening on {@code port}. */
  public static String jdbcUrl(int port, String database) {
    return "jdbc:postgresql://localhost:" + port + "/" + database;
  }

  /**
   * Waits until the postmaster of {@code dataDirectory} has exited, which it signals by removing
   * {@code postmaster.pid} as its last act.
   *
   * <p>Needed because zonky's {@code close()} returns at once when another thread is already
   * closing the same server, as its own JVM shutdown hook does.
   *
   * @return whether it exited within {@code timeout}
   */
  public static boolean awaitStopped(Path dataDirectory, Duration timeout) {
    Path pidFile = dataDirectory.resolve("postmaster.pid");
    long deadline = System.nanoTime() + timeout.toNanos();
    while (Files.exists(pidFile)) {
      if (System.nanoTime() - deadline > 0) {
        return false;
      }
      try {
        Thread.sleep(POLL_INTERVAL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }

  /** Deletes a directory tree; missing files are fine. */
  public static void deleteRecursively(Path directory) {
    if (!Files.exists(directory)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(directory)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("Could not delete " + directory, e);
    }
  }
}
