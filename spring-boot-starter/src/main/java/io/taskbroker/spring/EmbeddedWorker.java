package io.taskbroker.spring;

import io.taskbroker.api.backend.ShutdownReport;
import io.taskbroker.common.Database;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.WorkerConfig;
import io.taskbroker.worker.WorkerHealth;
import io.taskbroker.worker.plugins.PluginRegistry;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * The worker of a Spring application (with {@code taskbroker.worker.enabled=true}): started when
 * the context starts, after every bean is ready, and stopped when it closes, letting running jobs
 * finish within {@code taskbroker.worker.drain-timeout} and handing the rest back to the queue. Its
 * phase is below the web server's, so it starts before and stops after requests are served: a
 * request being drained may still submit. Thread-safe.
 */
public final class EmbeddedWorker implements SmartLifecycle {
  /** Below the web server's graceful shutdown ({@code DEFAULT_PHASE - 1024}) and its start. */
  public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 4096;

  private static final Logger LOG = LoggerFactory.getLogger(EmbeddedWorker.class);

  private final Database database;
  private final WorkerConfig config;
  private final PluginRegistry plugins;
  private volatile Worker worker;

  public EmbeddedWorker(Database database, WorkerConfig config, PluginRegistry plugins) {
    this.database = database;
    this.config = config;
    this.plugins = plugins;
  }

  @Override
  public synchronized void start() {
    if (isRunning()) {
      return;
    }
    if (plugins.isEmpty()) {
      LOG.warn(
          "taskbroker.worker.enabled is true but the application has no TaskPlugin beans;"
              + " worker {} runs only the schedules and maintenance, and claims no jobs",
          config.workerId());
    }
    worker = Worker.start(database, config, plugins);
  }

  @Override
  public synchronized void stop() {
    Worker running = worker;
    if (running == null) {
      return;
    }
    ShutdownReport report = running.shutdown(config.drainTimeout());
    LOG.info(
        "Embedded worker {} stopped with the application context; {} job(s) still running at the"
            + " end of the drain went back to the queue",
        running.id(),
        report.abandoned().size());
  }

  @Override
  public boolean isRunning() {
    Worker running = worker;
    return running != null && running.health().status() != WorkerHealth.Status.STOPPED;
  }

  @Override
  public int getPhase() {
    return PHASE;
  }

  public WorkerConfig config() {
    return config;
  }

  /** The running worker; empty before the context started it. */
  public Optional<Worker> worker() {
    return Optional.ofNullable(worker);
  }
}
