package io.taskbroker.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.api.internal.Channels;
import io.taskbroker.api.testing.Notifications;
import io.taskbroker.api.testing.TestClients;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobQuery;
import io.taskbroker.common.NewJob;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Batched submit: one statement, one notification per transaction. */
@WithPostgres
class SubmitAllTest {
  private static TaskBrokerClient client;
  private final TestDatabase db;

  SubmitAllTest(TestDatabase db) {
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
  void submitAllWritesEveryRowInOneStatement() throws SQLException {
    try (Connection connection = db.connect();
        Statement statement = connection.createStatement()) {
      // A statement-level trigger of the test's own counts the INSERT statements.
      statement.execute("CREATE TABLE insert_statements (rows integer NOT NULL)");
      statement.execute(
          """
          CREATE FUNCTION count_insert_statement() RETURNS trigger LANGUAGE plpgsql AS $$
          BEGIN
              INSERT INTO insert_statements SELECT count(*) FROM new_rows;
              RETURN NULL;
          END;
          $$""");
      statement.execute(
          "CREATE TRIGGER count_insert_statement AFTER INSERT ON taskbroker.job_queue"
              + " REFERENCING NEW TABLE AS new_rows"
              + " FOR EACH STATEMENT EXECUTE FUNCTION count_insert_statement()");
      try {
        List<UUID> ids = client.submitAll(jobs("one-statement", 50));

        assertThat(ids).hasSize(50).doesNotHaveDuplicates();
        assertThat(client.list(JobQuery.builder().queue("one-statement").build()))
            .extracting(Job::id)
            .containsExactlyInAnyOrderElementsOf(ids);
        try (var rows = statement.executeQuery("SELECT rows FROM insert_statements")) {
          assertThat(rows.next()).isTrue();
          assertThat(rows.getInt(1)).isEqualTo(50);
          assertThat(rows.next()).as("a second INSERT statement").isFalse();
        }
      } finally {
        statement.execute("DROP TRIGGER count_insert_statement ON taskbroker.job_queue");
      }
    }
  }

  @Test
  void submitAllForOneQueueSendsExactlyOneNotification() throws SQLException {
    try (Connection listener = db.connect();
        Connection sender = db.connect()) {
      Notifications.listen(listener, Channels.NEW_JOB);

      client.submitAll(jobs("batch-q", 25));
      Notifications.notify(sender, Channels.NEW_JOB, "sentinel");

      assertThat(Notifications.receiveUntil(listener, "sentinel"))
          .containsExactly("batch-q", "sentinel");
    }
  }

  @Test
  void submitAllForSeveralQueuesSendsOneWildcardNotification() throws SQLException {
    try (Connection listener = db.connect();
        Connection sender = db.connect()) {
      Notifications.listen(listener, Channels.NEW_JOB);

      client.submitAll(
          List.of(
              NewJob.builder("echo").queue("batch-a").build(),
              NewJob.builder("echo").queue("batch-b").build(),
              NewJob.builder("echo").queue("batch-a").build()));
      Notifications.notify(sender, Channels.NEW_JOB, "sentinel");

      assertThat(Notifications.receiveUntil(listener, "sentinel")).containsExactly("*", "sentinel");
    }
  }

  @Test
  void submitAllReturnsIdsInTheOrderOfTheJobs() {
    List<NewJob> batch =
        IntStream.range(0, 10)
            .mapToObj(i -> NewJob.builder("echo").queue("ordered").payload(Map.of("i", i)).build())
            .toList();

    List<UUID> ids = client.submitAll(batch);

    for (int i = 0; i < ids.size(); i++) {
      assertThat(client.require(ids.get(i)).payload().get("i").asInt()).isEqualTo(i);
    }
  }

  @Test
  void emptyBatchWritesNothing() {
    assertThat(client.submitAll(List.of())).isEmpty();
  }

  private static List<NewJob> jobs(String queue, int count) {
    return IntStream.range(0, count)
        .mapToObj(i -> NewJob.builder("echo").queue(queue).payload(Map.of("i", i)).build())
        .toList();
  }
}
