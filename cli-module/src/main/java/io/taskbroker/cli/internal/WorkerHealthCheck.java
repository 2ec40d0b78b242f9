package io.taskbroker.cli.internal;

import io.taskbroker.worker.UnitHealth;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.WorkerHealth;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import javax.sql.DataSource;

/**
 * What {@code /health} answers for a worker: healthy when the database answers a {@code SELECT 1}
 * within {@link #DATABASE_ANSWER}, the LISTEN connection is up and every unit is well; otherwise
 * every reason that holds, in one line. The database check runs on a thread of its own so a request
 * waits at most the bound (getting a connection from a pool whose server is gone can take the
 * pool's whole connection timeout); while one check is still out, later requests wait for that one
 * rather than start more. Thread-safe.
 */
public final class WorkerHealthCheck implements Supplier<Optional<String>>, AutoCloseable {
  static final Duration DATABASE_ANSWER = Duration.ofSeconds(2);

  private final DataSource dataSource;
  private final Collection<String> secrets;
  private volatile Worker worker;
  private final ExecutorService checker =
      Executors.newSingleThreadExecutor(
          runnable -> {
            Thread thread = new Thread(runnable, "taskbroker-health-check");
            thread.setDaemon(true);
            return thread;
          });
  private Future<?> inFlight; // guarded by this

  /**
   * @param secrets masked in every reason given (passwords of the database config)
   */
  public WorkerHealthCheck(DataSource dataSource, Collection<String> secrets) {
    this.dataSource = dataSource;
    this.secrets = List.copyOf(secrets);
  }

  /** The worker to report on, once started; until then the answer is 503 "starting". */
  public void worker(Worker worker) {
    this.worker = worker;
  }

  @Override
  public Optional<String> get() {
    List<String> problems = new ArrayList<>();
    databaseProblem().ifPresent(problems::add);
    Worker current = worker;
    if (current == null) {
      problems.add("worker: starting");
    } else {
      if (!current.isListening()) {
        problems.add("listen: the LISTEN connection is down (jobs are found by polling only)");
      }
      WorkerHealth health = current.health();
      if (!health.isHealthy()) {
        List<String> units = new ArrayList<>();
        for (UnitHealth unit : health.units()) {
          if (!unit.healthy()) {
            units.add(unit.name() + " " + unit.state().dbValue());
          }
        }
        problems.add(
            "worker: "
                + health.status().name().toLowerCase(java.util.Locale.ROOT)
                + (units.isEmpty() ? "" : " (" + String.join(", ", units) + ")"));
      }
    }
    return problems.isEmpty() ? Optional.empty() : Optional.of(String.join("; ", problems));
  }

  private Optional<String> databaseProblem() {
    Future<?> check;
    synchronized (this) {
      if (inFlight == null || inFlight.isDone()) {
        inFlight = checker.submit(this::ping);
      }
      check = inFlight;
    }
    try {
      check.get(DATABASE_ANSWER.toMillis(), TimeUnit.MILLISECONDS);
      return Optional.empty();
    } catch (TimeoutException e) {
      return Optional.of("database: no answer within " + Durations.format(DATABASE_ANSWER));
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      return Optional.of("database: " + Errors.message(cause, secrets));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.of("database: check interrupted");
    }
  }

  private Void ping() throws Exception {
    try (Connection connection = dataSource.getConnection();
        Statement statement = connection.createStatement()) {
      statement.setQueryTimeout((int) DATABASE_ANSWER.toSeconds());
      statement.execute("SELECT 1");
    }
    return null;
  }

  @Override
  public void close() {
    checker.shutdownNow();
  }
}
