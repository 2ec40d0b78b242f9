package io.taskbroker.worker.testing;

import io.taskbroker.common.Database;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;

/**
 * Base of the worker tests on a real database: one fresh database per test class (migrated), a
 * {@link JobFactory} on it, and a {@link TestWorkers} per test whose workers are stopped after it.
 * Test classes run one at a time, so the static fields belong to the class running now.
 */
@WithPostgres
public abstract class WorkerDatabaseTest {
  protected static TestDatabase testDatabase;
  protected static Database database;
  protected static JobFactory jobs;
  protected TestWorkers workers;

  @BeforeAll
  static void openDatabase(TestDatabase db) {
    testDatabase = db;
    database = TestDatabases.open(db);
    jobs = new JobFactory(database);
  }

  @AfterAll
  static void closeDatabase() {
    database.close();
  }

  @BeforeEach
  void createWorkers() {
    workers = new TestWorkers(database);
  }

  @AfterEach
  void stopWorkers() {
    workers.close();
  }
}
