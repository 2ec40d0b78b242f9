package io.taskbroker.testsupport;

import static java.util.stream.Collectors.groupingBy;
import static java.util.stream.Collectors.mapping;
import static java.util.stream.Collectors.toSet;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.sql.SQLException;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.platform.testkit.engine.EngineTestKit;

@WithPostgres
class PostgresExtensionTest {

  /** Which database each fixture saw, and where; filled while the fixtures run. */
  private static final Queue<Sighting> sightings = new ConcurrentLinkedQueue<>();

  private record Sighting(String fixture, String where, String database) {}

  @Test
  void eachTestClassGetsItsOwnDatabaseDroppedAfterTheClass(TestDatabase observer)
      throws SQLException {
    sightings.clear();

    EngineTestKit.engine("junit-jupiter")
        .selectors(selectClass(AnnotatedFixture.class), selectClass(RegisteredFixture.class))
        .execute()
        .testEvents()
        .assertStatistics(statistics -> statistics.started(5).succeeded(5));

    Map<String, Set<String>> databasesByFixture =
        sightings.stream()
            .collect(groupingBy(Sighting::fixture, mapping(Sighting::database, toSet())));
    assertThat(databasesByFixture.get("annotated")).hasSize(1);
    assertThat(databasesByFixture.get("registered")).hasSize(1);
    assertThat(databasesByFixture.get("annotated"))
        .doesNotContainAnyElementsOf(databasesByFixture.get("registered"));
    assertThat(sightings.stream().map(Sighting::where))
        .contains("constructor", "beforeAll", "beforeEach", "test", "nested test");
    for (Set<String> databases : databasesByFixture.values()) {
      String database = databases.iterator().next();
      assertThat(TestDatabaseTest.databaseExists(observer, database))
          .as("database %s after its class finished", database)
          .isFalse();
    }
  }

  // Static nested classes: run only through the test kit above, never by surefire on their own.

  @WithPostgres
  static class AnnotatedFixture {

    AnnotatedFixture(TestDatabase database) {
      sightings.add(new Sighting("annotated", "constructor", database.name()));
    }

    @BeforeAll
    static void recordBeforeAll(TestDatabase database) {
      sightings.add(new Sighting("annotated", "beforeAll", database.name()));
    }

    @BeforeEach
    void recordBeforeEach(TestDatabase database) {
      sightings.add(new Sighting("annotated", "beforeEach", database.name()));
    }

    @Test
    void first(TestDatabase database) {
      sightings.add(new Sighting("annotated", "test", database.name()));
    }

    @Test
    void second(TestDatabase database) {
      sightings.add(new Sighting("annotated", "test", database.name()));
    }

    @Nested
    class Inner {
      @Test
      void sharesTheOuterDatabase(TestDatabase database) {
        sightings.add(new Sighting("annotated", "nested test", database.name()));
      }
    }
  }

  @TestInstance(TestInstance.Lifecycle.PER_CLASS)
  static class RegisteredFixture {

    @RegisterExtension static final PostgresExtension postgres = new PostgresExtension();

    // With a per-class lifecycle the instance is made before any BeforeAll callback runs.
    RegisteredFixture(TestDatabase database) {
      sightings.add(new Sighting("registered", "constructor", database.name()));
    }

    @Test
    void first(TestDatabase database) {
      sightings.add(new Sighting("registered", "test", database.name()));
    }

    @Test
    void second(TestDatabase database) {
      sightings.add(new Sighting("registered", "test", database.name()));
    }
  }
}
