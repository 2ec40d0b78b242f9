package io.taskbroker.common;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where the database is and how to pool connections to it. Immutable.
 *
 * <p>Follows libpq conventions: a URL ({@code DATABASE_URL}, either {@code
 * postgresql://user:pass@host:port/db} or {@code jdbc:postgresql://...}) wins; otherwise {@code
 * PGHOST}, {@code PGPORT}, {@code PGUSER}, {@code PGPASSWORD}, {@code PGDATABASE}; otherwise {@code
 * localhost:5432}, user and database {@code postgres}.
 *
 * <p>{@link #toString()} and {@link #describe()} never show the password; {@link Secrets} masks it
 * in any other text.
 *
 * @param jdbcUrl a {@code jdbc:postgresql:} URL; without credentials when built from a libpq URI
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
  public static final int MAX_POOL_SIZE = 1000;
  public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
  public static final String DEFAULT_APPLICATION_NAME = "taskbroker";

  private static final String JDBC_PREFIX = "jdbc:postgresql:";

  // Said wherever a URL does not parse: the usual cause is a password typed as it is.
  private static final String ENCODING_HINT =
      " (in a password, percent-encode / as %2F, @ as %40, ? as %3F, # as %23 and % as %25)";

  /**
   * Validates every value, so a config made with this constructor is as sound as one from the
   * {@link Builder} (which only collects values).
   *
   * @throws InvalidConfigException naming the first bad value (never the password)
   */
  public DatabaseConfig {
    if (jdbcUrl == null || !jdbcUrl.startsWith(JDBC_PREFIX)) {
      throw new InvalidConfigException(
          "JDBC URL must start with jdbc:postgresql:, got '" + Secrets.redactUrl(jdbcUrl) + "'");
    }
    if (poolSize < 1 || poolSize > MAX_POOL_SIZE) {
      throw new InvalidConfigException(
          "pool size must be between 1 and " + MAX_POOL_SIZE + ", got " + poolSize);
    }
    if (connectTimeout == null || connectTimeout.toMillis() < 250) {
      throw new InvalidConfigException(
          "connect timeout must be at least 250ms, got " + connectTimeout);
    }
    if (applicationName == null) {
      throw new InvalidConfigException("application name must not be null");
    }
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

  /**
   * Host, port and database of the URL, for messages. Never a password, whatever the URL holds:
   * built from {@link Secrets#redactUrl}, without the query.
   */
  public String describe() {
    String rest = Secrets.redactUrl(jdbcUrl);
    rest = rest.startsWith(JDBC_PREFIX) ? rest.substring(JDBC_PREFIX.length()) : rest;
    rest = rest.startsWith("//") ? rest.substring(2) : rest;
    int query = rest.indexOf('?');
    return (query >= 0 ? rest.substring(0, query) : rest) + (user == null ? "" : " as " + user);
  }

  /** Every password this configuration holds, for {@link Secrets#redact(String, Collection)}. */
  public Set<String> secrets() {
    Set<String> secrets = new LinkedHashSet<>(Secrets.passwordsIn(jdbcUrl));
    if (password != null && !password.isEmpty()) {
      secrets.add(password);
    }
    return secrets;
  }

  /** Like the record's, with the password masked: configs end up in logs and debuggers. */
  @Override
  public String toString() {
    return "DatabaseConfig[jdbcUrl="
        + Secrets.redactUrl(jdbcUrl)
        + ", user="
        + user
        + ", password="
        + (password == null ? "null" : Secrets.MASK)
        + ", poolSize="
        + poolSize
        + ", connectTimeout="
        + connectTimeout
        + ", applicationName="
        + applicationName
        + "]";
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
      if (trimmed.startsWith(JDBC_PREFIX)) {
        this.jdbcUrl = trimmed;
        return this;
      }
      if (!trimmed.startsWith("postgresql://") && !trimmed.startsWith("postgres://")) {
        throw new InvalidConfigException(
            "database URL must start with postgresql://, postgres:// or jdbc:postgresql:, got '"
                + Secrets.redactUrl(trimmed)
                + "'");
      }
      URI uri;
      try {
        uri = new URI(trimmed);
      } catch (URISyntaxException e) {
        throw malformed("is malformed (" + e.getReason() + ")", trimmed);
      }
      // java.net.URI falls back to a "registry" authority (host null, port -1) when the port is
      // not a number: without this check "h:abc" would silently become localhost:5432.
      if (uri.getHost() == null && uri.getRawAuthority() != null) {
        throw malformed("has a malformed host or port", trimmed);
      }
      // An @ past the host means a password with / ? or # in it was cut short there: taking the
      // rest as database or parameters would connect elsewhere and print part of the password.
      if (uri.getRawFragment() != null
          || (uri.getRawPath() != null && uri.getRawPath().contains("@"))
          || atOutsideAValue(uri.getRawQuery())) {
        throw malformed("has an @ after the host", trimmed);
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
      String query = credentialsFromQuery(uri.getRawQuery());
      if (database.isEmpty()) {
        database = user == null ? "postgres" : user;
      }
      this.jdbcUrl =
          JDBC_PREFIX
              + "//"
              + host
              + ":"
              + port
              + "/"
              + database
              + (query.isEmpty() ? "" : "?" + query);
      return this;
    }

    /**
     * Takes libpq's {@code user} and {@code password} parameters into the fields, so that the JDBC
     * URL holds no credentials (it is a map key and a child process argument), and returns the
     * other parameters as they were.
     */
    private String credentialsFromQuery(String rawQuery) {
      if (rawQuery == null) {
        return "";
      }
      List<String> kept = new ArrayList<>();
      for (String parameter : rawQuery.split("&")) {
        int equals = parameter.indexOf('=');
        String key = equals < 0 ? parameter : parameter.substring(0, equals);
        String value = equals < 0 ? "" : parameter.substring(equals + 1);
        if (key.equals("password")) {
          this.password = decode(value);
        } else if (key.equals("user")) {
          this.user = decode(value);
        } else if (!parameter.isEmpty()) {
          kept.add(parameter);
        }
      }
      return String.join("&", kept);
    }

    private static boolean atOutsideAValue(String rawQuery) {
      if (rawQuery == null) {
        return false;
      }
      for (String parameter : rawQuery.split("&")) {
        int equals = parameter.indexOf('=');
        int at = parameter.indexOf('@');
        if (at >= 0 && (equals < 0 || at < equals)) {
          return true;
        }
      }
      return false;
    }

    private static InvalidConfigException malformed(String problem, String url) {
      return new InvalidConfigException(
          "database URL " + problem + ": '" + Secrets.redactUrl(url) + "'" + ENCODING_HINT);
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

    /**
     * @throws InvalidConfigException naming the first bad value (never the password)
     */
    public DatabaseConfig build() {
      return new DatabaseConfig(jdbcUrl, user, password, poolSize, connectTimeout, applicationName);
    }

    private static String decode(String value) {
      // Percent-decoding only: URLDecoder would also turn a literal '+' into a space.
      return URLDecoder.decode(value.replace("+", "%2B"), StandardCharsets.UTF_8);
    }
  }
}
