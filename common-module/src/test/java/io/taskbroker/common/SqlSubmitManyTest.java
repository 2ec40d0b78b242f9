package io.taskbroker.common;

import static io.taskbroker.common.JdbcHelpers.assertRefused;
import static io.taskbroker.common.JdbcHelpers.countJobs;
import static io.taskbroker.common.JdbcHelpers.one;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskbroker.testsupport.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.util.PSQLException;

/**
 * {@code taskbroker.submit_many(plugin, payloads, ...)}: a JSON array of payloads, one statement.
 */
class SqlSubmitManyTest extends MigratedDatabaseTest {
  SqlSubmitManyTest(TestDatabase db) {
    super(db);
  }

  @BeforeEach
  void emptyTheTable() throws SQLException {
    try (var statement = connection.createStatement()) {
      statement.execute("DELETE FROM taskbroker.jobs");
    }
  }

  private List<UUID> submitMany(String arguments) throws SQLException {
    List<UUID> ids = new ArrayList<>();
    try (PreparedStatement statement =
            connection.prepareStatement("SELECT * FROM taskbroker.submit_many(" + arguments + ")");
        ResultSet rows = statement.executeQuery()) {
      while (rows.next()) {
        ids.add(rows.getObject(1, UUID.class));
      }
    }
    return ids;
  }

  @Test
  void everyPayloadBecomesAJobAndTheIdsComeBackInTheArraysOrder() throws SQLException {
    List<UUID> ids =
        submitMany(
            "'echo', (SELECT jsonb_agg(jsonb_build_object('n', g) ORDER BY g)"
                + " FROM generate_series(1, 500) g), queue => 'bulk', priority => 2,"
                + " max_attempts => 5, metadata => '{\"batch\": \"b1\"}',"
                + " concurrency_key => 'k'");

    assertThat(ids).hasSize(500).doesNotHaveDuplicates();
    for (int i : new int[] {0, 1, 250, 499}) {
      assertThat(
              one(
                  connection,
                  String.class,
                  "SELECT payload->>'n' || '/' || queue || '/' || priority || '/' || max_attempts"
                      + " || '/' || (metadata->>'batch') || '/' || concurrency_key || '/' || status"
                      + " FROM taskbroker.jobs WHERE id = ?",
                  ids.get(i)))
          .isEqualTo((i + 1) + "/bulk/2/5/b1/k/pending");
    }
  }

  @Test
  void defaultsMatchTheSingleSubmit() throws SQLException {
    UUID id = submitMany("'echo', '[{}]'").get(0);
    UUID single = one(connection, UUID.class, "SELECT taskbroker.submit('echo')");

    String columns =
        "SELECT queue || '/' || priority || '/' || max_attempts || '/' || metadata::text || '/'"
            + " || status || '/' || (run_at <= now()) || '/' || submitted_by"
            + " FROM taskbroker.jobs WHERE id = ?";
    assertThat(one(connection, String.class, columns, id))
        .isEqualTo(one(connection, String.class, columns, single));
  }

  @Test
  void aDelayOrRunAtAppliesToEveryJob() throws SQLException {
    submitMany("'echo', '[{}, {}]', queue => 'later', delay => interval '1 hour'");

    assertThat(
            one(
                connection,
                Long.class,
                "SELECT count(*) FROM taskbroker.jobs WHERE queue = 'later'"
                    + " AND run_at > now() + interval '59 minutes'"))
        .isEqualTo(2);
  }

  @Test
  void anEmptyArraySubmitsNothing() throws SQLException {
    assertThat(submitMany("'echo', '[]'")).isEmpty();
    assertThat(countJobs(connection)).isZero();
  }

  @Test
  void badPayloadsAreRefusedByNameAndNothingIsWritten() throws SQLException {
    assertRefused(() -> submitMany("'echo', '{\"not\": \"an array\"}'"), "22023", null);
    assertRefused(() -> submitMany("'echo', NULL"), "22023", null);
    assertThatThrownBy(() -> submitMany("'echo', '[{\"ok\": 1}, 7, {\"ok\": 2}]'"))
        .isInstanceOf(PSQLException.class)
        .hasMessageContaining("payloads[1]: must be a JSON object, got number");
    assertThatThrownBy(() -> submitMany("'echo', '[{}]', metadata => '[1]'"))
        .isInstanceOf(PSQLException.class)
        .hasMessageContaining("metadata: must be a JSON object, got array");
    // The table's own checks still hold: an empty plugin name, a bad attempt budget.
    assertRefused(() -> submitMany("'', '[{}]'"), "23514", "jobs_plugin_valid");
    assertRefused(
        () -> submitMany("'echo', '[{}]', max_attempts => 0"), "23514", "jobs_max_attempts_valid");

    assertThat(countJobs(connection)).isZero();
  }

  @Test
  void aBatchNotifiesTheQueueOnce() throws SQLException {
    try (Connection listener = db.connect();
        var statement = listener.createStatement()) {
      statement.execute("LISTEN taskbroker_new_job");
      submitMany(
          "'echo', (SELECT jsonb_agg(jsonb_build_object('n', g)) FROM generate_series(1, 50) g),"
              + " queue => 'notified'");

      org.postgresql.PGConnection pg = listener.unwrap(org.postgresql.PGConnection.class);
      List<String> payloads = new ArrayList<>();
      // Delivered with the next round trip after the commit; one wait is enough.
      for (org.postgresql.PGNotification notification : pg.getNotifications(5_000)) {
        payloads.add(notification.getParameter());
      }
      assertThat(payloads).containsExactly("notified");
    }
  }
}
