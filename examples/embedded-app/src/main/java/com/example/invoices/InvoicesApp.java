package com.example.invoices;

import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.Database;
import io.taskbroker.common.DatabaseConfig;
import io.taskbroker.common.Job;
import io.taskbroker.common.NewJob;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.WorkerConfig;
import io.taskbroker.worker.plugins.PluginRegistry;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.flywaydb.core.Flyway;

/**
 * A small application that embeds taskbroker: it migrates its own schema with its own Flyway
 * (defaults: {@code classpath:db/migration}, history in {@code public.flyway_schema_history}),
 * then runs the taskbroker client and an in-process worker on the same database. Creating an
 * invoice inserts its row and submits the job that renders it in one transaction.
 */
public final class InvoicesApp implements AutoCloseable {
  public static final String QUEUE = "invoices";

  private final Database database;
  private final TaskBrokerClient client;
  private final Worker worker;

  private InvoicesApp(Database database, TaskBrokerClient client, Worker worker) {
    this.database = database;
    this.client = client;
    this.worker = worker;
  }

  public static InvoicesApp start(String jdbcUrl, String user, String password) {
    Flyway.configure().dataSource(jdbcUrl, user, password).load().migrate();
    DatabaseConfig config =
        DatabaseConfig.builder().jdbcUrl(jdbcUrl).user(user).password(password).build();
    Database database = Database.connect(config);
    TaskBrokerClient client = TaskBrokerClient.create(database, ClientConfig.defaults());
    Worker worker =
        Worker.start(
            database,
            WorkerConfig.builder().queue(QUEUE, 2).build(),
            PluginRegistry.of(List.of(new InvoicePdfPlugin())));
    return new InvoicesApp(database, client, worker);
  }

  /** Inserts the invoice and submits its rendering job in one transaction; returns the job id. */
  public UUID createInvoice(String customer, BigDecimal amount) throws SQLException {
    try (Connection connection = database.dataSource().getConnection()) {
      connection.setAutoCommit(false);
      long invoiceId;
      try (PreparedStatement insert =
          connection.prepareStatement(
              "INSERT INTO invoices (customer, amount) VALUES (?, ?) RETURNING id")) {
        insert.setString(1, customer);
        insert.setBigDecimal(2, amount);
        try (ResultSet rows = insert.executeQuery()) {
          rows.next();
          invoiceId = rows.getLong(1);
        }
      }
      UUID job =
          client.submit(
              connection,
              NewJob.builder("invoice-pdf")
                  .queue(QUEUE)
                  .payload(Map.of("invoice_id", invoiceId))
                  .build());
      connection.commit();
      return job;
    }
  }

  /** Waits for the rendering job and returns where the PDF went. */
  public String awaitPdf(UUID job, Duration timeout) throws Exception {
    Job done = client.await(job).get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    return done.result().path("pdf_path").asText();
  }

  @Override
  public void close() {
    worker.shutdown(Duration.ofSeconds(5));
    client.close();
    database.close();
  }

  public static void main(String[] args) throws Exception {
    String url = System.getenv().getOrDefault("JDBC_URL", "jdbc:postgresql://localhost:5432/app");
    try (InvoicesApp app =
        start(url, System.getenv("PGUSER"), System.getenv().getOrDefault("PGPASSWORD", ""))) {
      UUID job = app.createInvoice("ACME", new BigDecimal("120.50"));
      System.out.println("invoice rendered to " + app.awaitPdf(job, Duration.ofSeconds(30)));
    }
  }
}
