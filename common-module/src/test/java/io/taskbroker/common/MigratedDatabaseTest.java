package io.taskbroker.common;

import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * A test of the SQL contract: its class gets a database of its own, migrated once, and each test a
 * fresh connection to it.
 */
@WithPostgres
abstract class MigratedDatabaseTest {
  protected final TestDatabase db;
  protected Connection connection;

  MigratedDatabaseTest(TestDatabase db) {
    this.db = db;
  }

  @BeforeAll
  static void migrate(TestDatabase db) {
    Migrations.migrate(db.dataSource());
  }

  @BeforeEach
  void connect() throws SQLException {
    connection = db.connect();
  }

  @AfterEach
  void disconnect() throws SQLException {
    connection.close();
  }
}
