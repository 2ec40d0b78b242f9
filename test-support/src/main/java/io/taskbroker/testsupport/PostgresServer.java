package io.taskbroker.testsupport;

import io.taskbroker.testsupport.internal.DatabaseAdmin;
import io.taskbroker.testsupport.internal.DockerProbe;
import io.taskbroker.testsupport.internal.EmbeddedServers;
import io.taskbroker.testsupport.internal.ServerAddress;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.postgresql.PostgreSQLContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * The PostgreSQL server every test in this JVM shares, each test class in a database of its own.
 *
 * <p>{@link #get()} picks the server once per JVM, in this order:
 *
 * <ol>
 *   <li>the server named by the system property {@value #DATABASE_URL_PROPERTY} or else the
 *       environment variable {@value #DATABASE_URL_VARIABLE}: a libpq URI {@code
 *       postgresql://user:password@host:port/database} or a JDBC URL {@code
 *       jdbc:postgresql://host:port/database?user=...&password=...}, whose user may create
 *       databases;
 *   <li>a {@value #CONTAINER_IMAGE} container started by Testcontainers, when a Docker engine
 *       answers;
 *   <li>an embedded PostgreSQL (zonky) started for this JVM and stopped when it exits.
 * </ol>
 *
 * If none can be had, {@link #get()} fails with a message saying how to provide one; tests are
 * never skipped for want of a database.
 *
 * <p>Thread-safe: {@link #get()} starts at most one server however many threads call it, and {@link
 * #createDatabase()} opens a short-lived admin connection per call.
 */
public final class PostgresServer {

  /** The environment variable naming an existing server to use. */
  public static final String DATABASE_URL_VARIABLE = "TASKBROKER_TEST_DATABASE_URL";

  /** The system property naming an existing server to use; wins over the environment variable. */
  public static final String DATABASE_URL_PROPERTY = "taskbroker.test.database-url";

  /** The image started when Testcontainers is used. */
  public static final String CONTAINER_IMAGE = "postgres:15-alpine";

  private static final Logger log = LoggerFactory.getLogger(PostgresServer.class);
  private static final String DATABASE_NAME_PREFIX = "tb_test_";
  private static final int POSTGRES_PORT = 5432;
  private static final String INSUFFICIENT_PRIVILEGE = "42501";

  private static final Object lock = new Object();
  private static PostgresServer shared; // guarded by lock
  private static RuntimeException failure; // guarded by lock

  private final String kind;
  private final DatabaseAdmin admin;
  private final int serverVersionNumber;
  private final Optional<EmbeddedControl> control;

  private PostgresServer(
      String kind,
      DatabaseAdmin admin,
      int serverVersionNumber,
      Optional<EmbeddedControl> control) {
    this.kind = kind;
    this.admin = admin;
    this.serverVersionNumber = serverVersionNumber;
    this.control = control;
  }

  /**
   * The server for this JVM, chosen and started on the first call.
   *
   * @throws IllegalStateException saying how to provide a server when none can be had; later calls
   *     throw the same message at once rather than trying again
   */
  public static PostgresServer get() {
    synchronized (lock) {
      if (shared != null) {
        return shared;
      }
      if (failure != null) {
        throw new IllegalStateException(failure.getMessage(), failure);
      }
      try {
        shared = choose();
        return shared;
      } catch (RuntimeException e) {
        failure = e;
        throw e;
      }
    }
  }

  /** How the server was had: {@code "env"}, {@code "testcontainers"} or {@code "embedded"}. */
  public String kind() {
    return kind;
  }

  /** Details of the embedded server; empty unless {@link #kind()} is {@code "embedded"}. */
  public Optional<EmbeddedControl> control() {
    return control;
  }

  /**
   * Creates a new empty database named {@code tb_test_<random>}; closing it drops it.
   *
   * @throws IllegalStateException when the server refuses, e.g. when the configured user may not
   *     create databases
   */
  public TestDatabase createDatabase() {
    String name = DATABASE_NAME_PREFIX + UUID.randomUUID().toString().replace("-", "");
    try {
      admin.create(name);
    } catch (SQLException e) {
      String hint =
          INSUFFICIENT_PRIVILEGE.equals(e.getSQLState())
              ? " The user " + admin.address().user() + " needs the CREATEDB privilege."
              : "";
      throw new IllegalStateException(
          "Could not create the test database "
              + name
              + " on "
              + admin.address()
              + " (SQLSTATE "
              + e.getSQLState()
              + "): "
              + e.getMessage()
              + hint,
          e);
    }
    log.debug("Created test database {} on {}", name, admin.address());
    return new TestDatabase(this, admin, name);
  }

  @Override
  public String toString() {
    return "PostgresServer[" + kind + ", " + admin.address() + "]";
  }

  void drop(String name) {
    try {
      admin.drop(name, serverVersionNumber);
      log.debug("Dropped test database {}", name);
    } catch (SQLException | RuntimeException e) {
      log.warn("Could not drop test database {} on {}; it stays behind", name, admin.address(), e);
    }
  }

  private static PostgresServer choose() {
    Optional<String> propertyUrl = nonBlank(System.getProperty(DATABASE_URL_PROPERTY));
    if (propertyUrl.isPresent()) {
      return fromUrl(propertyUrl.get(), "-D" + DATABASE_URL_PROPERTY);
    }
    Optional<String> environmentUrl = nonBlank(System.getenv(DATABASE_URL_VARIABLE));
    if (environmentUrl.isPresent()) {
      return fromUrl(environmentUrl.get(), DATABASE_URL_VARIABLE);
    }
    String why;
    if (DockerProbe.ofThisJvm().engineAnswers()) {
      try {
        return fromContainer();
      } catch (RuntimeException e) {
        // A Docker engine that cannot pull or run the image, e.g. offline: the embedded server
        // still gives a real PostgreSQL, so say so and go on.
        log.warn(
            "A Docker engine answers but the {} container did not start; falling back to an"
                + " embedded PostgreSQL",
            CONTAINER_IMAGE,
            e);
        why = "No " + DATABASE_URL_VARIABLE + " and the " + CONTAINER_IMAGE + " container failed";
      }
    } else {
      why = "No " + DATABASE_URL_VARIABLE + " and no Docker engine";
    }
    return fromEmbedded(why);
  }

  // Package-private so that tests can try the URL path against the server they already have.
  static PostgresServer fromUrl(String url, String source) {
    ServerAddress address;
    try {
      address = ServerAddress.parse(url, System.getenv());
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(source + " is not usable: " + e.getMessage(), e);
    }
    DatabaseAdmin admin = new DatabaseAdmin(address);
    int version;
    try {
      version = admin.serverVersionNumber();
    } catch (SQLException e) {
      throw new IllegalStateException(
          source
              + " names a PostgreSQL that does not answer: "
              + address
              + " (SQLSTATE "
              + e.getSQLState()
              + "): "
              + e.getMessage()
              + ". Fix the URL or unset "
              + source
              + " to let the tests start their own PostgreSQL.",
          e);
    }
    log.info(
        "Using the PostgreSQL {} named by {}: {}",
        versionText(version),
        source,
        ServerAddress.redact(url));
    return new PostgresServer("env", admin, version, Optional.empty());
  }

  private static PostgresServer fromContainer() {
    long started = System.nanoTime();
    PostgreSQLContainer container =
        new PostgreSQLContainer(DockerImageName.parse(CONTAINER_IMAGE))
            // Replaces Testcontainers' default command, which turns fsync off.
            .withCommand("postgres", "-c", "max_connections=300");
    container.start();
    Runtime.getRuntime()
        .addShutdownHook(new Thread(container::stop, "taskbroker-postgres-container-stopper"));
    ServerAddress address =
        new ServerAddress(
            container.getHost() + ":" + container.getMappedPort(POSTGRES_PORT),
            container.getDatabaseName(),
            container.getUsername(),
            container.getPassword(),
            "");
    DatabaseAdmin admin = new DatabaseAdmin(address);
    int version = serverVersion(admin, "the " + CONTAINER_IMAGE + " container");
    log.info(
        "No {}, a Docker engine answers: started a {} container with Testcontainers at {} in {}",
        DATABASE_URL_VARIABLE,
        CONTAINER_IMAGE,
        address.hosts(),
        since(started));
    return new PostgresServer("testcontainers", admin, version, Optional.empty());
  }

  private static PostgresServer fromEmbedded(String why) {
    long started = System.nanoTime();
    Path dataDirectory = EmbeddedServers.newDataDirectory("taskbroker-shared-");
    EmbeddedPostgres embedded;
    try {
      embedded = EmbeddedServers.builder(dataDirectory).start();
    } catch (IOException | RuntimeException e) {
      throw new IllegalStateException(
          why
              + ", and the embedded PostgreSQL did not start: "
              + e
              + ". Give the tests a PostgreSQL: set "
              + DATABASE_URL_VARIABLE
              + "=postgresql://user:password@host:5432/postgres (a user allowed to create"
              + " databases), or install and start Docker.",
          e);
    }
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(() -> stopQuietly(embedded), "taskbroker-embedded-postgres-stopper"));
    int port = embedded.getPort();
    ServerAddress address =
        new ServerAddress(
            "localhost:" + port,
            EmbeddedServers.DEFAULT_DATABASE,
            EmbeddedServers.SUPERUSER,
            "",
            "");
    DatabaseAdmin admin = new DatabaseAdmin(address);
    int version = serverVersion(admin, "the embedded PostgreSQL");
    log.info(
        "{}: started an embedded PostgreSQL {} on port {} in {}",
        why,
        versionText(version),
        port,
        since(started));
    return new PostgresServer(
        "embedded", admin, version, Optional.of(new EmbeddedControl(port, dataDirectory)));
  }

  private static int serverVersion(DatabaseAdmin admin, String what) {
    try {
      return admin.serverVersionNumber();
    } catch (SQLException e) {
      throw new IllegalStateException(
          what + " started but does not answer at " + admin.address() + ": " + e.getMessage(), e);
    }
  }

  private static void stopQuietly(EmbeddedPostgres embedded) {
    try {
      embedded.close();
    } catch (IOException | RuntimeException e) {
      // The JVM is exiting; zonky's own hook and its stale-directory cleanup are the backstop.
      log.warn("Could not stop the embedded PostgreSQL", e);
    }
  }

  private static Optional<String> nonBlank(String value) {
    return Optional.ofNullable(value).map(String::strip).filter(text -> !text.isEmpty());
  }

  private static String versionText(int versionNumber) {
    return versionNumber / 10000 + "." + versionNumber % 10000;
  }

  private static String since(long startedNanos) {
    Duration elapsed = Duration.ofNanos(System.nanoTime() - startedNanos);
    return elapsed.toMillis() + " ms";
  }
}
