package io.taskbroker.spring;

import io.taskbroker.common.Database;
import io.taskbroker.common.Migrations;
import io.taskbroker.worker.UnitHealth;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.WorkerHealth;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.springframework.boot.actuate.health.AbstractHealthIndicator;
import org.springframework.boot.actuate.health.Health;
import org.springframework.boot.actuate.health.Status;

/**
 * Actuator's {@code taskbroker} health: UP when taskbroker's schema answers and the embedded worker
 * (if any) is healthy; DOWN when the schema cannot be read, or a unit of the worker keeps failing,
 * has stalled or died; OUT_OF_SERVICE once the worker has stopped. Details: the schema version, and
 * the worker's id, status, queues, running jobs and any unit that is not well. Thread-safe.
 */
public final class TaskBrokerHealthIndicator extends AbstractHealthIndicator {
  private final Database database;
  private final Optional<EmbeddedWorker> worker;

  public TaskBrokerHealthIndicator(Database database, Optional<EmbeddedWorker> worker) {
    super("taskbroker health check failed");
    this.database = database;
    this.worker = worker;
  }

  @Override
  protected void doHealthCheck(Health.Builder builder) throws SQLException {
    builder.up().withDetail("schemaVersion", schemaVersion());
    if (worker.isEmpty()) {
      builder.withDetail("worker", "none in this application");
      return;
    }
    Optional<Worker> running = worker.get().worker();
    if (running.isEmpty()) {
      builder.status(Status.OUT_OF_SERVICE).withDetail("worker", "not started");
      return;
    }
    WorkerHealth health = running.get().health();
    Map<String, Object> details = new LinkedHashMap<>();
    details.put("id", running.get().id());
    details.put("status", health.status().name());
    details.put("queues", running.get().config().queues());
    details.put("running", running.get().runningCount());
    Map<String, String> units = new LinkedHashMap<>();
    for (UnitHealth unit : health.units()) {
      if (!unit.healthy()) {
        units.put(
            unit.name(),
            unit.state().dbValue() + (unit.lastError() == null ? "" : ": " + unit.lastError()));
      }
    }
    if (!units.isEmpty()) {
      details.put("unwellUnits", units);
    }
    health.failure().ifPresent(failure -> details.put("failure", failure.toString()));
    builder.withDetail("worker", details);
    switch (health.status()) {
      case HEALTHY -> builder.up();
      case STOPPED -> builder.status(Status.OUT_OF_SERVICE);
      case UNHEALTHY, FAILED -> builder.down();
    }
  }

  private int schemaVersion() throws SQLException {
    try (Connection connection = database.dataSource().getConnection();
        Statement statement = connection.createStatement();
        ResultSet row =
            statement.executeQuery(
                "SELECT coalesce(max(version), 0) FROM "
                    + Migrations.SCHEMA
                    + ".applied_migrations")) {
      row.next();
      return row.getInt(1);
    }
  }
}
