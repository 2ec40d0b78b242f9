package io.taskbroker.cli.internal;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's two HTTP endpoints on the JDK's own server: {@code GET /metrics} (Prometheus text
 * from {@code scrape}) and {@code GET /health} (200 {@code ok}, or 503 with the reason {@code
 * health} gives). Nothing else is served: other paths are 404, other methods 405. The socket is
 * bound in {@link #start}, so a port in use fails before the worker claims anything. Two daemon
 * threads serve requests. Thread-safe; {@link #stop} is safe twice or before start.
 */
public final class MetricsServer {
  private static final Logger LOG = LoggerFactory.getLogger(MetricsServer.class);
  static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";

  private final InetSocketAddress address;
  private final Supplier<String> scrape;
  private final Supplier<Optional<String>> health;
  private HttpServer server; // guarded by this
  private ExecutorService threads; // guarded by this

  /**
   * @param scrape the Prometheus exposition text, read per request (it must not query)
   * @param health empty when healthy, else why not (one line)
   */
  public MetricsServer(
      InetSocketAddress address, Supplier<String> scrape, Supplier<Optional<String>> health) {
    this.address = address;
    this.scrape = scrape;
    this.health = health;
  }

  /**
   * Binds the socket and serves.
   *
   * @throws CliFailure when the address cannot be bound (in use, not local)
   */
  public synchronized void start() {
    if (server != null) {
      return;
    }
    HttpServer created;
    try {
      created = HttpServer.create(address, 16);
    } catch (IOException e) {
      throw new CliFailure(
          ExitCodes.ERROR,
          "cannot serve metrics on "
              + address.getHostString()
              + ":"
              + address.getPort()
              + ": "
              + e.getMessage());
    }
    threads =
        Executors.newFixedThreadPool(
            2,
            runnable -> {
              Thread thread = new Thread(runnable, "taskbroker-metrics-http");
              thread.setDaemon(true);
              return thread;
            });
    created.setExecutor(threads);
    created.createContext("/", this::handle);
    created.start();
    server = created;
  }

  /** The bound port (the chosen one when started on port 0); -1 before start. */
  public synchronized int port() {
    return server == null ? -1 : server.getAddress().getPort();
  }

  public synchronized void stop() {
    if (server != null) {
      server.stop(0);
      threads.shutdownNow();
      server = null;
      threads = null;
    }
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      String path = exchange.getRequestURI().getPath();
      boolean get = exchange.getRequestMethod().equals("GET");
      boolean head = exchange.getRequestMethod().equals("HEAD");
      if (!path.equals("/metrics") && !path.equals("/health")) {
        respond(exchange, 404, "text/plain; charset=utf-8", "not found: try /metrics or /health\n");
      } else if (!get && !head) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        respond(exchange, 405, "text/plain; charset=utf-8", "method not allowed\n");
      } else if (path.equals("/metrics")) {
        respond(exchange, 200, PROMETHEUS_TEXT, scrape.get());
      } else {
        Optional<String> problem = health.get();
        if (problem.isEmpty()) {
          respond(exchange, 200, "text/plain; charset=utf-8", "ok\n");
        } else {
          respond(exchange, 503, "text/plain; charset=utf-8", problem.get() + "\n");
        }
      }
    } catch (RuntimeException e) {
      // A failing scrape must not end the server thread's loop; the client sees a closed reply.
      LOG.warn("Metrics endpoint failed on {}: {}", exchange.getRequestURI(), e.toString());
    }
  }

  private static void respond(HttpExchange exchange, int status, String type, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", type);
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
    if (!head) {
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(bytes);
      }
    }
  }
}
