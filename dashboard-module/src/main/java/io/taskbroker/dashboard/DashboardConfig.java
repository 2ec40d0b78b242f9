package io.taskbroker.dashboard;

import io.taskbroker.common.InvalidConfigException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * How a dashboard serves: the address it binds (standalone), its tokens, the payload and metadata
 * keys it redacts, and how often its one statistics query runs. Immutable; built by {@link
 * #builder()} and validated in {@link Builder#build()}.
 *
 * @param host the address to bind when the dashboard runs its own server; without {@code token}
 *     only a loopback address is accepted
 * @param token the operator token (may act), or null: no sign-in, loopback only
 * @param readOnlyToken a token that sees everything and may do nothing, or null
 * @param redactKeys payload and metadata keys (any depth, case-insensitive) shown as {@code
 *     "[redacted]"}
 * @param statsInterval how often the dashboard process runs its statistics query and pushes it to
 *     every open page
 * @param basePath where the pages and API live: {@code ""} standalone, {@code "/taskbroker"} by
 *     default when mounted in an application
 */
public record DashboardConfig(
    String host,
    String token,
    String readOnlyToken,
    Set<String> redactKeys,
    Duration statsInterval,
    String basePath) {

  /** Keys redacted unless the builder is told otherwise. */
  public static final Set<String> DEFAULT_REDACT_KEYS =
      Set.of("password", "secret", "token", "api_key", "apikey", "authorization");

  public static final Duration DEFAULT_STATS_INTERVAL = Duration.ofSeconds(2);
  public static final String ENV_TOKEN = "TASKBROKER_DASHBOARD_TOKEN";
  public static final String ENV_READ_ONLY_TOKEN = "TASKBROKER_DASHBOARD_READ_ONLY_TOKEN";

  public DashboardConfig {
    redactKeys =
        redactKeys.stream().map(k -> k.toLowerCase(Locale.ROOT)).collect(Collectors.toSet());
  }

  public static Builder builder() {
    return new Builder();
  }

  /** True when the pages need a sign-in and the API a bearer token. */
  public boolean authRequired() {
    return token != null;
  }

  /** Not thread-safe. */
  public static final class Builder {
    private String host = "127.0.0.1";
    private String token;
    private String readOnlyToken;
    private Set<String> redactKeys = DEFAULT_REDACT_KEYS;
    private Duration statsInterval = DEFAULT_STATS_INTERVAL;
    private String basePath = "";

    private Builder() {}

    public Builder host(String host) {
      this.host = host;
      return this;
    }

    public Builder token(String token) {
      this.token = token;
      return this;
    }

    public Builder readOnlyToken(String readOnlyToken) {
      this.readOnlyToken = readOnlyToken;
      return this;
    }

    public Builder redactKeys(Set<String> redactKeys) {
      this.redactKeys = redactKeys;
      return this;
    }

    public Builder statsInterval(Duration statsInterval) {
      this.statsInterval = statsInterval;
      return this;
    }

    public Builder basePath(String basePath) {
      this.basePath = basePath;
      return this;
    }

    /**
     * @throws InvalidConfigException naming the first bad value
     */
    public DashboardConfig build() {
      if (host == null || host.isBlank()) {
        throw new InvalidConfigException("dashboard host must not be empty");
      }
      token = blankToNull(token, "token");
      readOnlyToken = blankToNull(readOnlyToken, "read-only token");
      if (readOnlyToken != null && token == null) {
        throw new InvalidConfigException(
            "a read-only dashboard token needs an operator token too (--token): without one the"
                + " dashboard has no sign-in and anyone on loopback may act");
      }
      if (token != null && token.equals(readOnlyToken)) {
        throw new InvalidConfigException("the read-only token must differ from the token");
      }
      if (token == null && !isLoopback(host)) {
        throw new InvalidConfigException(
            "dashboard host "
                + host
                + " is not a loopback address: without a token (--token or "
                + ENV_TOKEN
                + ") the dashboard only binds to 127.0.0.1, ::1 or localhost");
      }
      if (redactKeys == null) {
        throw new InvalidConfigException("redact keys must not be null (use an empty set)");
      }
      if (statsInterval == null
          || statsInterval.compareTo(Duration.ofMillis(100)) < 0
          || statsInterval.compareTo(Duration.ofMinutes(5)) > 0) {
        throw new InvalidConfigException(
            "stats interval must be between 100 ms and 5 minutes, got " + statsInterval);
      }
      if (basePath == null || !(basePath.isEmpty() || basePath.matches("(/[A-Za-z0-9._~-]+)+"))) {
        throw new InvalidConfigException(
            "base path must be empty or like /taskbroker (no trailing slash), got '"
                + basePath
                + "'");
      }
      return new DashboardConfig(
          host, token, readOnlyToken, Set.copyOf(redactKeys), statsInterval, basePath);
    }

    private static String blankToNull(String value, String what) {
      if (value == null) {
        return null;
      }
      if (value.isBlank()) {
        return null;
      }
      if (value.length() < 16) {
        throw new InvalidConfigException(
            "the dashboard " + what + " must be at least 16 characters, got " + value.length());
      }
      return value;
    }

    private static boolean isLoopback(String host) {
      if (host.equals("localhost")) {
        return true;
      }
      // Only literal addresses: a name is not resolved here (it could resolve elsewhere later).
      if (!host.matches("[0-9.]+|\\[?[0-9a-fA-F:]+]?")) {
        return false;
      }
      try {
        return InetAddress.getByName(host.replace("[", "").replace("]", "")).isLoopbackAddress();
      } catch (UnknownHostException e) {
        return false;
      }
    }
  }
}
