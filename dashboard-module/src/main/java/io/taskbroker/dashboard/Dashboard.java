package io.taskbroker.dashboard;

import io.javalin.Javalin;
import io.javalin.config.JavalinConfig;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.dashboard.internal.Queries;
import io.taskbroker.dashboard.internal.Routes;
import io.taskbroker.dashboard.internal.StatsHub;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The web dashboard and its HTTP JSON API, on a client's database. Either its own server ({@link
 * #start(int)}) or routes in an application's Javalin ({@link #mount(JavalinConfig)} inside {@code
 * Javalin.create(config -> ...)}, then {@link #startStatistics()} once). One statistics thread and
 * one LISTEN subscription per dashboard, however many pages are open; no thread until started.
 * {@link #close()} stops them (and its own server); the client stays the caller's. Thread-safe.
 *
 * <pre>{@code
 * Dashboard dashboard = Dashboard.builder().client(client).token(System.getenv("TOKEN")).build();
 * dashboard.start(8080);
 * }</pre>
 */
public final class Dashboard implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Dashboard.class);

  private final DashboardConfig config;
  private final StatsHub hub;
  private final Routes routes;
  private final Object lock = new Object();
  private Javalin server;

  private Dashboard(TaskBrokerClient client, DashboardConfig config) {
    this.config = config;
    Queries queries = new Queries(client.database());
    this.hub = new StatsHub(client.database(), queries, client.queues(), config.statsInterval());
    this.routes = new Routes(config, client, queries, hub);
  }

  public static Builder builder() {
    return new Builder();
  }

  public DashboardConfig config() {
    return config;
  }

  /**
   * Adds the pages and API under {@link DashboardConfig#basePath()} to an application's Javalin
   * config. The application's server then serves them; call {@link #startStatistics()} once it
   * runs.
   */
  public void mount(JavalinConfig javalin) {
    routes.attach(javalin);
  }

  /** Starts the statistics thread and the LISTEN subscription (a mounted dashboard needs it). */
  public void startStatistics() {
    hub.start();
  }

  /**
   * Runs the dashboard on its own server at {@link DashboardConfig#host()} and this port (0: any
   * free port, see {@link #port()}).
   */
  public Dashboard start(int port) {
    synchronized (lock) {
      if (server != null) {
        throw new IllegalStateException(
            "the dashboard is already started on port " + server.port());
      }
      Javalin app =
          Javalin.create(
              javalin -> {
                javalin.startup.showJavalinBanner = false;
                routes.attach(javalin);
              });
      app.start(config.host(), port);
      server = app;
    }
    hub.start();
    LOG.info(
        "Dashboard on http://{}:{}{}/ ({})",
        config.host().contains(":") ? "[" + config.host() + "]" : config.host(),
        port(),
        config.basePath(),
        config.authRequired()
            ? "sign-in with the token"
                + (config.readOnlyToken() != null ? " or the read-only token" : "")
            : "no token: loopback only");
    return this;
  }

  /** The port of its own server. */
  public int port() {
    synchronized (lock) {
      if (server == null) {
        throw new IllegalStateException("the dashboard runs no server of its own");
      }
      return server.port();
    }
  }

  /** Stops the statistics thread, ends every open stream, and stops its own server; safe twice. */
  @Override
  public void close() {
    hub.close();
    synchronized (lock) {
      if (server != null) {
        server.stop();
        server = null;
      }
    }
  }

  /** Not thread-safe. */
  public static final class Builder {
    private TaskBrokerClient client;
    private final DashboardConfig.Builder config = DashboardConfig.builder();

    private Builder() {}

    public Builder client(TaskBrokerClient client) {
      this.client = client;
      return this;
    }

    public Builder config(java.util.function.Consumer<DashboardConfig.Builder> settings) {
      settings.accept(config);
      return this;
    }

    public Builder token(String token) {
      config.token(token);
      return this;
    }

    public Builder readOnlyToken(String token) {
      config.readOnlyToken(token);
      return this;
    }

    public Builder host(String host) {
      config.host(host);
      return this;
    }

    public Builder basePath(String basePath) {
      config.basePath(basePath);
      return this;
    }

    public Builder redactKeys(java.util.Set<String> keys) {
      config.redactKeys(keys);
      return this;
    }

    public Builder statsInterval(java.time.Duration interval) {
      config.statsInterval(interval);
      return this;
    }

    /**
     * @throws io.taskbroker.common.InvalidConfigException naming the first bad value
     */
    public Dashboard build() {
      Objects.requireNonNull(client, "client");
      return new Dashboard(client, config.build());
    }
  }
}
