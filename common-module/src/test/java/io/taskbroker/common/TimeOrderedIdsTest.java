package io.taskbroker.common;

import static io.taskbroker.common.JdbcHelpers.one;
import static io.taskbroker.common.JdbcHelpers.submit;
import static io.taskbroker.common.JdbcHelpers.update;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.testsupport.TestDatabase;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * V10: an id made in SQL (submit, submit_many, a plain INSERT's default) is a UUID version 7 whose
 * first 48 bits are the time it was made, in milliseconds, like the Java client's.
 */
class TimeOrderedIdsTest extends MigratedDatabaseTest {
  TimeOrderedIdsTest(TestDatabase db) {
    super(db);
  }

  private static long millisOf(UUID id) {
    return id.getMostSignificantBits() >>> 16;
  }

  private Instant serverNow() throws SQLException {
    return one(connection, java.sql.Timestamp.class, "SELECT clock_timestamp()").toInstant();
  }

  private static void assertVersion7MadeBetween(UUID id, Instant before, Instant after) {
    assertThat(id.version()).as("version of %s", id).isEqualTo(7);
    assertThat(id.variant()).as("variant of %s", id).isEqualTo(2);
    assertThat(millisOf(id))
        .as("time of %s", id)
        .isBetween(before.toEpochMilli(), after.toEpochMilli());
  }

  @Test
  void submitSubmitManyAndAPlainInsertMakeVersion7IdsOfTheirTime() throws SQLException {
    Instant before = serverNow();
    UUID single = submit(connection, "'echo'");
    List<UUID> many = new ArrayList<>();
    try (PreparedStatement statement =
            connection.prepareStatement(
                "SELECT * FROM taskbroker.submit_many('echo', '[{\"n\": 1}, {\"n\": 2}]')");
        ResultSet rows = statement.executeQuery()) {
      while (rows.next()) {
        many.add(rows.getObject(1, UUID.class));
      }
    }
    UUID plain =
        one(
            connection,
            UUID.class,
            "INSERT INTO taskbroker.jobs (plugin) VALUES ('echo') RETURNING id");
    Instant after = serverNow();

    assertThat(many).hasSize(2);
    for (UUID id : List.of(single, many.get(0), many.get(1), plain)) {
      assertVersion7MadeBetween(id, before, after);
    }
  }

  @Test
  void idsMadeInLaterMillisecondsSortAfterEarlierOnes() throws SQLException {
    UUID first = submit(connection, "'echo'");
    // Wait on the server's clock, not a sleep: the next id must come from a later millisecond.
    long firstMillis = millisOf(first);
    while (serverNow().toEpochMilli() <= firstMillis) {
      Thread.onSpinWait();
    }
    UUID second = submit(connection, "'echo'");

    assertThat(millisOf(second)).isGreaterThan(firstMillis);
    // PostgreSQL orders uuids bytewise, the time first: the claim's (priority, run_at, id)
    // order and the primary key follow submission.
    assertThat(
            one(
                connection,
                Boolean.class,
                "SELECT CAST(? AS uuid) < CAST(? AS uuid)",
                first.toString(),
                second.toString()))
        .isTrue();
  }

  @Test
  void anIdTheInserterGivesIsKeptWhateverItsVersion() throws SQLException {
    UUID random = UUID.randomUUID();
    update(connection, "INSERT INTO taskbroker.jobs (id, plugin) VALUES (?, 'echo')", random);
    assertThat(
            one(
                connection,
                Long.class,
                "SELECT count(*) FROM taskbroker.jobs WHERE id = ?",
                random))
        .isEqualTo(1L);
  }
}
