package io.taskbroker.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskbroker.api.testing.TestClients;
import io.taskbroker.common.NewJob;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.jdbi.v3.core.Jdbi;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A job submitted in the caller's transaction exists iff that transaction commits. */
@WithPostgres
class TransactionalSubmitTest {
  private static TaskBrokerClient client;
  private final TestDatabase db;

  TransactionalSubmitTest(TestDatabase db) {
    this.db = db;
  }

  @BeforeAll
  static void connect(TestDatabase db) {
    client = TestClients.connect(db);
  }

  @AfterAll
  static void disconnect() {
    client.close();
  }

  @Test
  void jobSubmittedOnAJdbcConnectionInRolledBackTransactionDoesNotExist() throws SQLException {
    try (Connection connection = db.connect()) {
      connection.setAutoCommit(false);

      UUID id = client.submit(connection, NewJob.of("echo", Map.of("x", 1)));
      assertThat(client.get(id)).as("invisible to others before commit").isEmpty();

      connection.rollback();

      assertThat(client.get(id)).isEmpty();
      assertThat(connection.isClosed()).as("the caller's connection is left open").isFalse();
    }
  }

  @Test
  void jobSubmittedOnAJdbcConnectionInCommittedTransactionExists() throws SQLException {
    try (Connection connection = db.connect()) {
      connection.setAutoCommit(false);

      UUID id = client.submit(connection, NewJob.of("echo", Map.of("x", 1)));
      List<UUID> more =
          client.submitAll(
              connection, List.of(NewJob.of("echo", Map.of()), NewJob.of("echo", Map.of())));
      connection.commit();

      assertThat(client.require(id).payload().get("x").asInt()).isEqualTo(1);
      assertThat(more).allSatisfy(other -> assertThat(client.get(other)).isPresent());
      assertThat(connection.getAutoCommit()).as("the caller's settings are untouched").isFalse();
    }
  }

  @Test
  void batchSubmittedOnAJdbcConnectionIsRolledBackWithTheRestOfTheTransaction()
      throws SQLException {
    try (Connection connection = db.connect()) {
      connection.setAutoCommit(false);

      List<UUID> ids =
          client.submitAll(
              connection, List.of(NewJob.of("echo", Map.of()), NewJob.of("echo", Map.of())));
      connection.rollback();

      assertThat(ids).hasSize(2).allSatisfy(id -> assertThat(client.get(id)).isEmpty());
    }
  }

  @Test
  void jobSubmittedInRolledBackJdbiTransactionDoesNotExist() {
    Jdbi applicationJdbi = Jdbi.create(db.dataSource());
    AtomicReference<UUID> submitted = new AtomicReference<>();

    assertThatThrownBy(
            () ->
                applicationJdbi.useTransaction(
                    handle -> {
                      submitted.set(client.submit(handle, NewJob.of("echo", Map.of())));
                      throw new IllegalStateException("the application's work failed");
                    }))
        .hasMessage("the application's work failed");

    assertThat(submitted.get()).isNotNull();
    assertThat(client.get(submitted.get())).isEmpty();
  }

  @Test
  void jobSubmittedInCommittedJdbiTransactionExists() {
    Jdbi applicationJdbi = Jdbi.create(db.dataSource());

    UUID id =
        applicationJdbi.inTransaction(
            handle -> {
              UUID job = client.submit(handle, NewJob.of("echo", Map.of("y", 2)));
              assertThat(client.get(job)).as("invisible to others before commit").isEmpty();
              return job;
            });

    assertThat(client.require(id).payload().get("y").asInt()).isEqualTo(2);
  }
}
