package io.taskbroker.common.sql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class NamedSqlTest {
  @Test
  void namedParametersBecomePlaceholdersAndCommentsAreDropped() {
    NamedSql sql =
        NamedSql.parse(
            "-- a comment with :not_a_parameter\n"
                + "SELECT :a, CAST(:b AS int[]), :a -- trailing :c\n"
                + "  FROM t WHERE x = :b");

    assertThat(sql.jdbc()).isEqualTo("SELECT ?, CAST(? AS int[]), ? \n  FROM t WHERE x = ?");
  }

  @Test
  void castsQuotedTextAndQuotedIdentifiersAreLeftAlone() {
    NamedSql sql = NamedSql.parse("SELECT now()::text, ':x', \"odd:name\", :y::int");

    assertThat(sql.jdbc()).isEqualTo("SELECT now()::text, ':x', \"odd:name\", ?::int");
  }

  @Test
  void everyShippedStatementParsesItsOwnParameters() {
    // One parameter each statement really has (see its .sql file): it must have become a
    // placeholder, so a parser that skipped it would fail here.
    Map<String, String> parameterOf =
        Map.of(
            "insert_jobs", "plugins",
            "claim_jobs", "queue",
            "complete_jobs", "statuses",
            "heartbeat_jobs", "lease_ms");
    parameterOf.forEach(
        (name, parameter) -> {
          assertThat(Sql.load(name)).as(name + " source").contains(":" + parameter);
          NamedSql sql = NamedSql.load(name);
          assertThat(sql.parameterNames()).as(name).contains(parameter);
          assertThat(sql.jdbc()).as(name).doesNotContain(":" + parameter, "--").contains("?");
        });
  }

  @Test
  void anUnterminatedQuoteIsRefused() {
    assertThatThrownBy(() -> NamedSql.parse("SELECT 'oops"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unterminated quote");
  }
}
