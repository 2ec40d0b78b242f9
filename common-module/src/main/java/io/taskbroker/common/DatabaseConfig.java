package io.taskbroker.common;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * Where the database is and how to pool connections to it. Immutable.
 *
 * <p>Follows libpq conventions: a URL ({@code DATABASE_URL}, either {@code
 * postgresql://user:pass@host:port/db} or {@code jdbc:postgresql://...}) wins; otherwise {@code
 * PGHOST}, {@code PGPORT}, {@code PGUSER}, {@code PGPASSWORD}, {@code PGDATABASE}; otherwise {@code
 * localhost:5432}, user and database {@code postgres}.
 *
 * @param jdbcUrl a {@code jdbc:postgresql:} URL without credentials
 * @param poolSize the most connections the pool opens
 * @param connectTimeout how long to wait for a pooled connection (and for a new one to open)
 */
public record DatabaseConfig(
    String jdbcUrl,
    String user,
    String password,
    int poolSize,
    Duration connectTimeout,
    String applicationName) {

  public static final int DEFAULT_POOL_SIZE = 10;
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
  public static final String DEFAULT_APPLICATION_NAME = "taskbroker";

  public DatabaseConfig {
    Objects.requireNonNull(jdbcUrl, "jdbcUrl");
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(applicationName, "applicationName");
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The configuration the process environment describes (see the class comment). */
  public static DatabaseConfig fromEnvironment() {
    return fromEnvironment(System.getenv(), null);
  }

  /**
   * @param env the environment variables to read
   * @param url a URL given on the command line; wins over the environment when not null
   */
  public static DatabaseConfig fromEnvironment(Map<String, String> env, String url) {
    Builder builder = builder();
    String chosen = url != null && !url.isBlank() ? url : env.get("DATABASE_URL");
    if (chosen != null && !chosen.isBlank()) {
      return builder.url(chosen).build();
    }
    String host = env.getOrDefault("PGHOST", "localhost");
    String port = env.getOrDefault("PGPORT", "5432");
    String database = env.get("PGDATABASE");
    String user = env.getOrDefault("PGUSER", "postgres");
    builder.user(user).password(env.get("PGPASSWORD"));
    try {
      int portNumber = Integer.parseInt(port);
      if (portNumber < 1 || portNumber > 65535) {
        throw new NumberFormatException();
      }
    } catch (NumberFormatException e) {
      throw new InvalidConfigException("PGPORT must be a port number, got '" + port + "'");
    }
    return builder
        .jdbcUrl(
            "jdbc:postgresql://" + host + ":" + port + "/" + (database == null ? user : database))
        .build();
  }

  /** Host, port and database of the URL, for messages (never the password). */
  public String describe() {
    String rest = jdbcUrl.substring("jdbc:postgresql://".length());
    int query = rest.indexOf('?');
    return (query >= 0 ? rest.substring(0, query) : rest) + (user == null ? "" : " as " + user);
  }

  /** Not thread-safe. */
  public static final class Builder {
    private String jdbcUrl = "jdbc:postgresql://localhost:5432/postgres";
    private String user = "postgres";
    private String password;
    private int poolSize = DEFAULT_POOL_SIZE;
    private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
    private String applicationName = DEFAULT_APPLICATION_NAME;

    private Builder() {}

    /**
     * A libpq URI ({@code postgresql://user:pass@host:port/db?param=value}) or a JDBC URL.
     * Credentials in the URL set user and password.
     */
    public Builder url(String url) {
      String trimmed = url.trim();
      if (trimmed.startsWith("jdbc:postgresql:")) {
        this.jdbcUrl = trimmed;
        return this;
      }
      if (!trimmed.startsWith("postgresql://") && !trimmed.startsWith("postgres://")) {
        throw new InvalidConfigException(
            "database URL must start with postgresql://, postgres:// or jdbc:postgresql:, got '"
                + redact(trimmed)
                + "'");
      }
      URI uri;
      try {
        uri = new URI(trimmed);
      } catch (URISyntaxException e) {
        throw new InvalidConfigException("database URL is malformed: " + e.getReason());
      }
      // java.net.URI falls back to a "registry" authority (host null, port -1) when the port is
      // not a number: without this check "h:abc" would silently become localhost:5432.
      if (uri.getHost() == null && uri.getRawAuthority() != null) {
        throw new InvalidConfigException(
            "database URL has a malformed host or port: '" + redact(trimmed) + "'");
      }
      if (uri.getPort() != -1 && (uri.getPort() < 1 || uri.getPort() > 65535)) {
        throw new InvalidConfigException(
            "database URL port must be between 1 and 65535, got " + uri.getPort());
      }
      String host = uri.getHost() == null ? "localhost" : uri.getHost();
      int port = uri.getPort() == -1 ? 5432 : uri.getPort();
      String path = uri.getPath() == null ? "" : uri.getPath();
      String database = path.startsWith("/") ? path.substring(1) : path;
      if (uri.getRawUserInfo() != null) {
        String[] parts = uri.getRawUserInfo().split(":", 2);
        this.user = decode(parts[0]);
        this.password = parts.length > 1 ? decode(parts[1]) : null;
      }
      if (database.isEmpty()) {
        database = user == null ? "postgres" : user;
      }
      String query = uri.getRawQuery();
      this.jdbcUrl =
          "jdbc:postgresql://"
              + host
              + ":"
              + port
              + "/"
              + database
              + (query == null ? "" : "?" + query);
      return this;
    }

    public Builder jdbcUrl(String jdbcUrl) {
      this.jdbcUrl = jdbcUrl;
      return this;
    }

    public Builder user(String user) {
      this.user = user;
      return this;
    }

    public Builder password(String password) {
      this.password = password;
      return this;
    }

    public Builder poolSize(int poolSize) {
      this.poolSize = poolSize;
      return this;
    }

    public Builder connectTimeout(Duration connectTimeout) {
      this.connectTimeout = connectTimeout;
      return this;
    }

    public Builder applicationName(String applicationName) {
      this.applicationName = applicationName;
      return this;
    }

    public DatabaseConfig build() {
      if (jdbcUrl == null || !jdbcUrl.startsWith("jdbc:postgresql:")) {
        throw new InvalidConfigException(
            "JDBC URL must start with jdbc:postgresql:, got '" + jdbcUrl + "'");
      }
      if (poolSize < 1 || poolSize > 1000) {
        throw new InvalidConfigException("pool size must be between 1 and 1000, got " + poolSize);
      }
      if (connectTimeout == null || connectTimeout.toMillis() < 250) {
        throw new InvalidConfigException(
            "connect timeout must be at least 250ms, got " + connectTimeout);
      }
      return new DatabaseConfig(jdbcUrl, user, password, poolSize, connectTimeout, applicationName);
    }

    private static String decode(String value) {
      // Percent-decoding only: URLDecoder would also turn a literal '+' into a space.
      return URLDecoder.decode(value.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static String redact(String url) {
      return url.replaceAll("://([^:@/]+):[^@/]*@", "://$1:***@");
    }
  }
}
