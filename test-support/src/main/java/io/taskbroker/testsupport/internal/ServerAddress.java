package io.taskbroker.testsupport.internal;

import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Where a PostgreSQL server is and who to log in as, parsed from a libpq URI ({@code
 * postgresql://user:pass@host:port/db?sslmode=require}) or a JDBC URL ({@code
 * jdbc:postgresql://host:port/db?user=u&password=p}).
 *
 * <p>The user and password are kept apart from {@link #jdbcUrl(String)}, which carries only the
 * hosts, the database and the remaining connection parameters. Immutable and thread-safe.
 *
 * @param hosts one or more {@code host[:port]} entries, comma-separated, as JDBC expects them
 * @param database the database named in the URL, used for admin connections
 * @param user the user to log in as
 * @param password the password, empty when none was given
 * @param parameters the URL's query string without user and password, still percent-encoded; empty
 *     when there is none
 */
public record ServerAddress(
    String hosts, String database, String user, String password, String parameters) {

  private static final String JDBC_PREFIX = "jdbc:postgresql://";
  private static final String DEFAULT_DATABASE = "postgres";

  /**
   * Parses a libpq URI or a JDBC URL. Missing parts fall back as libpq does: the user to {@code
   * PGUSER} or the operating system user, the password to {@code PGPASSWORD}, the host to {@code
   * localhost}; the database falls back to {@code postgres}.
   *
   * @throws IllegalArgumentException naming the URL (without its password) when it is neither form
   */
  public static ServerAddress parse(String url, Map<String, String> environment) {
    String rest;
    boolean libpq;
    if (url.startsWith(JDBC_PREFIX)) {
      rest = url.substring(JDBC_PREFIX.length());
      libpq = false;
    } else if (url.startsWith("postgresql://")) {
      rest = url.substring("postgresql://".length());
      libpq = true;
    } else if (url.startsWith("postgres://")) {
      rest = url.substring("postgres://".length());
      libpq = true;
    } else {
      throw new IllegalArgumentException(
          "Not a PostgreSQL URL: '"
              + redact(url)
              + "'. Expected postgresql://user:password@host:port/database"
              + " or jdbc:postgresql://host:port/database?user=...&password=...");
    }

    String query = "";
    int questionMark = rest.indexOf('?');
    if (questionMark >= 0) {
      query = rest.substring(questionMark + 1);
      rest = rest.substring(0, questionMark);
    }
    String database = "";
    int slash = rest.indexOf('/');
    if (slash >= 0) {
      database = decode(rest.substring(slash + 1));
      rest = rest.substring(0, slash);
    }
    String user = null;
    String password = null;
    // The last '@' separates the credentials: an unencoded '@' in a password is common enough.
    int at = rest.lastIndexOf('@');
    if (at >= 0) {
      if (!libpq) {
        throw new IllegalArgumentException(
            "The PostgreSQL JDBC driver takes no user@ in its URL: '"
                + redact(url)
                + "'. Use jdbc:postgresql://host:port/database?user=...&password=...");
      }
      String userInfo = rest.substring(0, at);
      rest = rest.substring(at + 1);
      int colon = userInfo.indexOf(':');
      if (colon >= 0) {
        user = decode(userInfo.substring(0, colon));
        password = decode(userInfo.substring(colon + 1));
      } else {
        user = decode(userInfo);
      }
    }

    List<String> kept = new ArrayList<>();
    for (String pair : query.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int equals = pair.indexOf('=');
      String key = equals >= 0 ? pair.substring(0, equals) : pair;
      String value = equals >= 0 ? decode(pair.substring(equals + 1)) : "";
      switch (key) {
        case "user" -> user = value;
        case "password" -> password = value;
        case "dbname" -> database = value;
        default -> kept.add(pair);
      }
    }

    String hosts = rest.isEmpty() ? "localhost" : rest;
    if (database.isEmpty()) {
      database = DEFAULT_DATABASE;
    }
    if (user == null || user.isEmpty()) {
      user = environment.getOrDefault("PGUSER", System.getProperty("user.name"));
    }
    if (password == null) {
      password = environment.getOrDefault("PGPASSWORD", "");
    }
    return new ServerAddress(hosts, database, user, password, String.join("&", kept));
  }

  /** The JDBC URL of {@code databaseName} on this server, without user or password. */
  public String jdbcUrl(String databaseName) {
    String url =
        JDBC_PREFIX + hosts + "/" + URLEncoder.encode(databaseName, StandardCharsets.UTF_8);
    return parameters.isEmpty() ? url : url + "?" + parameters;
  }

  /** The JDBC URL of the database named in the original URL. */
  public String adminJdbcUrl() {
    return jdbcUrl(database);
  }

  /** A URL with its password replaced by {@code ***}, fit for a log line or an error message. */
  public static String redact(String url) {
    return url.replaceAll("(://[^:/@?]*:)[^/?]*@", "$1***@")
        .replaceAll("([?&]password=)[^&]*", "$1***");
  }

  @Override
  public String toString() {
    return adminJdbcUrl() + " as " + user;
  }

  private static String decode(String text) {
    // Percent-decoding only: in a URI a '+' is a plus sign, not the space of HTML forms.
    return URLDecoder.decode(text.replace("+", "%2B"), StandardCharsets.UTF_8);
  }
}
