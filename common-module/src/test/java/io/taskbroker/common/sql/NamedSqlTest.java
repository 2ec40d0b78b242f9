package io.taskbroker.common.sql;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
  void everyShippedStatementParses() {
    for (String name :
        new String[] {"insert_jobs", "claim_jobs", "complete_jobs", "heartbeat_jobs"}) {
      assertThat(NamedSql.load(name).jdbc()).as(name).doesNotContain(":queue", "--").isNotBlank();
    }
  }

  @Test
  void anUnterminatedQuoteIsRefused() {
    assertThatThrownBy(() -> NamedSql.parse("SELECT 'oops"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unterminated quote");
  }
}
