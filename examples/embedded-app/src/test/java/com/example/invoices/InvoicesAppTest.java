package com.example.invoices;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The application runs with its own migrations in Flyway's default folder beside taskbroker's, and
 * neither side reads the other's.
 */
@WithPostgres
class InvoicesAppTest {

  @Test
  void theAppRunsItsJobsAndItsMigrationsAreUntouchedByTaskbroker(TestDatabase db)
      throws Exception {
    try (InvoicesApp app = InvoicesApp.start(db.jdbcUrl(), db.user(), db.password())) {
      UUID job = app.createInvoice("ACME", new BigDecimal("120.50"));

      assertThat(app.awaitPdf(job, Duration.ofSeconds(30))).startsWith("invoices/");
    }

    try (Connection connection = db.connect()) {
      // The application's history holds its own two migrations, applied once each.
      assertThat(
              strings(
                  connection,
                  "SELECT version || ':' || script FROM public.flyway_schema_history"
                      + " WHERE version IS NOT NULL ORDER BY installed_rank"))
          .containsExactly("1:V1__invoices.sql", "2:V2__invoice_created_at.sql");
      assertThat(strings(connection, "SELECT customer FROM invoices")).containsExactly("ACME");
      // Nothing of the application's went into taskbroker's schema, and nothing of taskbroker's
      // history names an application script.
      assertThat(
              strings(
                  connection,
                  "SELECT table_name FROM information_schema.tables"
                      + " WHERE table_schema = 'taskbroker' AND table_name LIKE 'invoice%'"))
          .isEmpty();
      for (String history :
          strings(
              connection,
              "SELECT table_name FROM information_schema.columns WHERE table_schema ="
                  + " 'taskbroker' AND column_name = 'script'")) {
        assertThat(
                strings(
                    connection, "SELECT script FROM taskbroker." + history + " ORDER BY 1"))
            .noneMatch(script -> script.contains("invoice"));
      }
    }
  }

  private static List<String> strings(Connection connection, String sql) throws SQLException {
    List<String> values = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(sql)) {
      while (rows.next()) {
        values.add(rows.getString(1));
      }
    }
    return values;
  }
}
