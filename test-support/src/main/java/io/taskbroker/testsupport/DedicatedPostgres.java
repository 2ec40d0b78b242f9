package io.taskbroker.testsupport;

import io.taskbroker.testsupport.internal.EmbeddedServers;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An embedded PostgreSQL of one test's own, which it may stop and start again: on the same port,
 * with the same data, so clients see a server going away and coming back.
 *
 * <p>It is always an embedded (zonky) server, whatever {@link PostgresServer} chose, because only a
 * server this JVM runs can be stopped. Its superuser {@code postgres} logs in without a password,
 * and it starts with one database, {@code postgres}. {@link #close()} stops it and deletes its
 * data; a JVM shutdown hook does the same for one left open.
 *
 * <p>Thread-safe: {@link #stop()}, {@link #start()} and {@link #close()} are serialised, and each
 * is safe to call in any state: stopping a stopped server or starting a running one does nothing.
 */
public final class DedicatedPostgres implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(DedicatedPostgres.class);
  private static final Duration STOP_WAIT = Duration.ofSeconds(30);

  private final Path dataDirectory;
  private final int port;
  private final Thread shutdownHook;
  private EmbeddedPostgres running; // guarded by this; null while stopped
  private boolean closed; // guarded by this

  private DedicatedPostgres(Path dataDirectory, EmbeddedPostgres running) {
    this.dataDirectory = dataDirectory;
    this.port = running.getPort();
    this.running = running;
    this.shutdownHook = new Thread(this::close, "taskbroker-dedicated-postgres-closer");
  }

  /**
   * Starts a new server on a free port with an empty data directory.
   *
   * @throws IllegalStateException when the embedded PostgreSQL does not start
   */
  public static DedicatedPostgres launch() {
    Path dataDirectory = EmbeddedServers.newDataDirectory("taskbroker-dedicated-");
    EmbeddedPostgres embedded;
    try {
      // Keep the data when zonky stops the server: stop() and start() rely on it.
      embedded = EmbeddedServers.builder(dataDirectory).setCleanDataDirectory(false).start();
    } catch (IOException | RuntimeException e) {
      EmbeddedServers.deleteRecursively(dataDirectory);
      throw new IllegalStateException("The dedicated embedded PostgreSQL did not start: " + e, e);
    }
    DedicatedPostgres server = new DedicatedPostgres(dataDirectory, embedded);
    Runtime.getRuntime().addShutdownHook(server.shutdownHook);
    log.info(
        "Started a dedicated PostgreSQL on port {} with data in {}", server.port, dataDirectory);
    return server;
  }

  /**
   * Stops the server as {@code pg_ctl stop -m fast} does: sessions end, committed data stays. When
   * it returns the postmaster has exited.
   *
   * @throws IllegalStateException when the postmaster is still running after 30 seconds
   */
  public synchronized void stop() {
    if (running == null) {
      return;
    }
    EmbeddedPostgres stopping = running;
    running = null;
    try {
      stopping.close();
    } catch (IOException e) {
      throw new UncheckedIOException("Could not stop the dedicated PostgreSQL on port " + port, e);
    }
    if (!EmbeddedServers.awaitStopped(dataDirectory, STOP_WAIT)) {
      throw new IllegalStateException(
          "The dedicated PostgreSQL on port " + port + " did not stop within " + STOP_WAIT);
    }
    log.info("Stopped the dedicated PostgreSQL on port {}", port);
  }

  /**
   * Starts the stopped server again on the same port with the same data directory.
   *
   * @throws IllegalStateException when it was closed, or does not start (e.g. another process took
   *     the port meanwhile)
   */
  public synchronized void start() {
    if (closed) {
      throw new IllegalStateException("The dedicated PostgreSQL on port " + port + " is closed");
    }
    if (running != null) {
      return;
    }
    try {
      running =
          EmbeddedServers.builder(dataDirectory).setCleanDataDirectory(false).setPort(port).start();
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException(
          "The dedicated PostgreSQL did not start again on port " + port + ": " + e, e);
    }
    log.info("Started the dedicated PostgreSQL on port {} again", port);
  }

  /** Whether the server is running, i.e. started and neither stopped nor closed since. */
  public synchronized boolean isRunning() {
    return running != null;
  }

  /** The TCP port on localhost; the same across stop and start. */
  public int port() {
    return port;
  }

  /** The data directory; the same across stop and start, deleted by {@link #close()}. */
  public Path dataDirectory() {
    return dataDirectory;
  }

  /** The JDBC URL of {@code database} on this server, with neither user nor password in it. */
  public String jdbcUrl(String database) {
    return EmbeddedServers.jdbcUrl(port, database);
  }

  /** The superuser, {@code postgres}. */
  public String user() {
    return EmbeddedServers.SUPERUSER;
  }

  /** The password of {@link #user()}: empty, the server trusts local connections. */
  public String password() {
    return "";
  }

  /**
   * Stops the server and deletes its data directory; calling it again does nothing. A failure is
   * logged, not thrown: a leftover directory must not fail the test that used it.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      stop();
      EmbeddedServers.deleteRecursively(dataDirectory);
    } catch (RuntimeException e) {
      // Left behind, the directory is deleted by a later embedded start once it is stale.
      log.warn("Could not stop and delete the dedicated PostgreSQL in {}", dataDirectory, e);
    } finally {
      removeShutdownHook();
    }
  }

  private void removeShutdownHook() {
    if (Thread.currentThread() == shutdownHook) {
      return;
    }
    try {
      Runtime.getRuntime().removeShutdownHook(shutdownHook);
    } catch (IllegalStateException e) {
      // The JVM is already shutting down and runs the hook anyway; close() is idempotent.
      log.debug("JVM shutdown in progress; leaving the hook in place", e);
    }
  }

  @Override
  public String toString() {
    return "DedicatedPostgres[port " + port + ", " + (isRunning() ? "running" : "stopped") + "]";
  }
}
