package io.taskbroker.common;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.testsupport.PostgresServer;
import io.taskbroker.testsupport.TestDatabase;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;

/** Each test takes a fresh database of its own: migrating needs an empty one. */
class MigrationsTest {
  private static final Path MIGRATIONS = Path.of("..", "db", "migration");
  private static final Pattern VERSIONED = Pattern.compile("V(\\d+)__.+\\.sql");

  @Test
  void concurrentMigrationsOnAFreshDatabaseApplyEachVersionOnce() throws Exception {
    int threads = 4;
    try (TestDatabase db = PostgresServer.get().createDatabase()) {
      DataSource dataSource = db.dataSource();
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Integer>> results = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
          results.add(
              pool.submit(
                  () -> {
                    start.await();
                    return Migrations.migrate(dataSource);
                  }));
        }
        start.countDown();
        int applied = 0;
        for (Future<Integer> result : results) {
          applied += result.get(60, TimeUnit.SECONDS);
        }

        assertThat(applied).isEqualTo(migrationFiles().size());
      } finally {
        pool.shutdownNow();
      }
      try (Connection connection = db.connect();
          Statement statement = connection.createStatement();
          ResultSet rows =
              statement.executeQuery(
                  "SELECT version, count(*) AS applied, bool_and(success) AS ok"
                      + " FROM taskbroker.taskbroker_schema_history WHERE version IS NOT NULL"
                      + " GROUP BY version ORDER BY version")) {
        List<String> versions = new ArrayList<>();
        while (rows.next()) {
          assertThat(rows.getInt("applied")).as("version %s", rows.getString(1)).isEqualTo(1);
          assertThat(rows.getBoolean("ok")).isTrue();
          versions.add(rows.getString("version"));
        }
        assertThat(versions).hasSize(migrationFiles().size());
      }
      assertThat(Migrations.migrate(dataSource)).as("a current schema").isZero();
      assertSubmitWorks(db);
    }
  }

  @Test
  void migrationFilesAppliedInOrderWithPlainSqlGiveTheSameSchemaAsFlyway() throws Exception {
    try (TestDatabase byFlyway = PostgresServer.get().createDatabase();
        TestDatabase byPsql = PostgresServer.get().createDatabase()) {
      Migrations.migrate(byFlyway.dataSource());

      // What `psql -f` does with each file, in version order: run the whole file as one script.
      try (Connection connection = byPsql.connect();
          Statement statement = connection.createStatement()) {
        for (Path file : migrationFiles()) {
          statement.execute(Files.readString(file, StandardCharsets.UTF_8));
        }
      }

      assertSubmitWorks(byPsql);
      assertThat(schemaFingerprint(byPsql)).isEqualTo(schemaFingerprint(byFlyway)).isNotEmpty();
    }
  }

  @Test
  void schemaAppliedByHandIsAdoptedByFlywayWithoutReapplyingAnything() throws Exception {
    try (TestDatabase db = PostgresServer.get().createDatabase()) {
      try (Connection connection = db.connect();
          Statement statement = connection.createStatement()) {
        for (Path file : migrationFiles()) {
          statement.execute(Files.readString(file, StandardCharsets.UTF_8));
        }
      }

      assertThat(Migrations.migrate(db.dataSource())).isZero();
      assertThat(Migrations.migrate(db.dataSource())).isZero();

      try (Connection connection = db.connect();
          Statement statement = connection.createStatement();
          var rows =
              statement.executeQuery(
                  "SELECT max(version::int) FROM taskbroker.taskbroker_schema_history"
                      + " WHERE type = 'BASELINE'")) {
        rows.next();
        assertThat(rows.getLong(1))
            .isEqualTo(version(migrationFiles().get(migrationFiles().size() - 1)));
      }
      assertSubmitWorks(db);
    }
  }

  @Test
  void anApplicationsOwnMigrationsAreNeverRead() throws Exception {
    // src/test/resources holds an application's db/migration (V1__app.sql, V2__app.sql and a
    // beforeMigrate.sql callback), a db/callback folder and a flyway.conf, as an application's
    // classpath would.
    assertThat(getClass().getClassLoader().getResource("db/migration/V1__app.sql"))
        .as("the application's migration is on the classpath")
        .isNotNull();
    try (TestDatabase db = PostgresServer.get().createDatabase()) {
      assertThat(Migrations.migrate(db.dataSource())).isEqualTo(migrationFiles().size());

      assertThat(historyVersions(db, "taskbroker." + Migrations.HISTORY_TABLE))
          .containsExactlyElementsOf(migrationVersions());
      assertThat(publicTables(db)).as("nothing of the application's ran").isEmpty();

      // The application's own Flyway, all defaults: its location, its history table in public.
      // It sees its two migrations only, none of taskbroker's.
      Flyway.configure().dataSource(db.dataSource()).load().migrate();

      assertThat(historyVersions(db, "public.flyway_schema_history")).containsExactly("1", "2");
      assertThat(publicTables(db)).contains("app_orders", "app_customers", "flyway_schema_history");
      assertThat(historyVersions(db, "taskbroker." + Migrations.HISTORY_TABLE))
          .containsExactlyElementsOf(migrationVersions());
      assertThat(Migrations.migrate(db.dataSource())).as("after the application's run").isZero();
    }
  }

  @Test
  void aDatabaseMigratedWithTheOldHistoryTableIsAdoptedWithoutRerunning() throws Exception {
    try (TestDatabase db = PostgresServer.get().createDatabase()) {
      // What earlier versions did: Flyway's default history table name, in schema taskbroker.
      // Only up to V1, so that adopting it must also apply what came later, and nothing twice.
      Flyway.configure()
          .dataSource(db.dataSource())
          .locations("filesystem:" + MIGRATIONS.toAbsolutePath())
          .schemas(Migrations.SCHEMA)
          .createSchemas(true)
          .table("flyway_schema_history")
          .target("1")
          .load()
          .migrate();
      String installedOn;
      try (Connection connection = db.connect();
          Statement statement = connection.createStatement()) {
        statement.execute("SELECT taskbroker.submit('echo', '{\"kept\": true}')");
        statement.execute("CREATE TABLE taskbroker.marker (note text)");
        statement.execute("INSERT INTO taskbroker.marker VALUES ('survives')");
        installedOn =
            JdbcHelpers.one(
                connection,
                String.class,
                "SELECT installed_on::text FROM taskbroker.flyway_schema_history"
                    + " WHERE version = '1'");
      }

      assertThat(Migrations.migrate(db.dataSource()))
          .as("every version after 1, and not 1 again")
          .isEqualTo(migrationFiles().size() - 1);
      assertThat(Migrations.migrate(db.dataSource())).isZero();

      try (Connection connection = db.connect()) {
        assertThat(
                JdbcHelpers.one(
                    connection,
                    Boolean.class,
                    "SELECT to_regclass('taskbroker.flyway_schema_history') IS NULL"))
            .as("the old history table is gone")
            .isTrue();
        assertThat(
                JdbcHelpers.one(
                    connection,
                    String.class,
                    "SELECT installed_on::text FROM taskbroker.taskbroker_schema_history"
                        + " WHERE version = '1'"))
            .as("V1's history row is the one Flyway wrote then")
            .isEqualTo(installedOn);
        assertThat(
                JdbcHelpers.one(
                    connection,
                    Long.class,
                    "SELECT count(*) FROM taskbroker.jobs WHERE payload = '{\"kept\": true}'"))
            .isEqualTo(1L);
        assertThat(JdbcHelpers.one(connection, String.class, "SELECT note FROM taskbroker.marker"))
            .isEqualTo("survives");
      }
      assertThat(historyVersions(db, "taskbroker." + Migrations.HISTORY_TABLE))
          .containsExactlyElementsOf(migrationVersions());
      assertSubmitWorks(db);
    }
  }

  @Test
  void upgradingToTheHistorySplitKeepsEveryJobWhereItWasAndMovesNone() throws Exception {
    try (TestDatabase db = PostgresServer.get().createDatabase()) {
      Flyway.configure()
          .dataSource(db.dataSource())
          .locations("filesystem:" + MIGRATIONS.toAbsolutePath())
          .schemas(Migrations.SCHEMA)
          .createSchemas(true)
          .table(Migrations.HISTORY_TABLE)
          .target("11")
          .load()
          .migrate();
      try (Connection connection = db.connect();
          Statement statement = connection.createStatement()) {
        statement.execute(
            "INSERT INTO taskbroker.jobs (plugin, queue, status, completed_at) VALUES"
                + " ('echo', 'upgrade', 'pending', NULL),"
                + " ('echo', 'upgrade', 'completed', now() - interval '2 days'),"
                + " ('echo', 'upgrade', 'failed', now() - interval '1 hour')");
      }

      assertThat(Migrations.migrate(db.dataSource()))
          .as("V12 and every version after it")
          .isEqualTo(migrationFiles().stream().filter(file -> version(file) >= 12).count());

      try (Connection connection = db.connect();
          Statement statement = connection.createStatement()) {
        String byTable =
            "SELECT string_agg(status, ',' ORDER BY status) FROM taskbroker.%s"
                + " WHERE queue = 'upgrade'";
        assertThat(JdbcHelpers.one(connection, String.class, byTable.formatted("jobs")))
            .isEqualTo("completed,failed,pending");
        assertThat(JdbcHelpers.one(connection, String.class, byTable.formatted("job_queue")))
            .as("the migration moves nothing: the workers' movers do, paced")
            .isEqualTo("completed,failed,pending");
        assertThat(JdbcHelpers.one(connection, String.class, byTable.formatted("job_history")))
            .isNull();
        statement.execute("SELECT taskbroker.move_to_history(now(), 100)");
        assertThat(JdbcHelpers.one(connection, String.class, byTable.formatted("job_history")))
            .isEqualTo("completed,failed");
        assertThat(JdbcHelpers.one(connection, String.class, byTable.formatted("jobs")))
            .isEqualTo("completed,failed,pending");
      }
      assertSubmitWorks(db);
    }
  }

  @Test
  void theJarCarriesEveryMigrationUnderTaskbrokersOwnLocationOnly() throws Exception {
    ClassLoader loader = Migrations.class.getClassLoader();
    for (Path file : migrationFiles()) {
      String name = file.getFileName().toString();
      assertThat(loader.getResource(Migrations.LOCATION + "/" + name)).as(name).isNotNull();
      assertThat(loader.getResource("db/migration/" + name))
          .as("%s in Flyway's default location", name)
          .isNull();
    }
  }

  /** The versions in a Flyway history table, in the order they were applied. */
  private static List<String> historyVersions(TestDatabase db, String table) throws SQLException {
    List<String> versions = new ArrayList<>();
    try (Connection connection = db.connect();
        Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery(
                "SELECT version FROM "
                    + table
                    + " WHERE version IS NOT NULL AND success ORDER BY installed_rank")) {
      while (rows.next()) {
        versions.add(rows.getString(1));
      }
    }
    return versions;
  }

  private static List<String> publicTables(TestDatabase db) throws SQLException {
    List<String> tables = new ArrayList<>();
    try (Connection connection = db.connect();
        Statement statement = connection.createStatement();
        ResultSet rows =
            statement.executeQuery(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")) {
      while (rows.next()) {
        tables.add(rows.getString(1));
      }
    }
    return tables;
  }

  private static List<String> migrationVersions() throws IOException {
    return migrationFiles().stream().map(file -> Long.toString(version(file))).toList();
  }

  private static List<Path> migrationFiles() throws IOException {
    try (Stream<Path> files = Files.list(MIGRATIONS)) {
      return files
          .filter(file -> VERSIONED.matcher(file.getFileName().toString()).matches())
          .sorted(Comparator.comparingLong(MigrationsTest::version))
          .toList();
    }
  }

  private static long version(Path file) {
    Matcher matcher = VERSIONED.matcher(file.getFileName().toString());
    if (!matcher.matches()) {
      throw new IllegalArgumentException(file.toString());
    }
    return Long.parseLong(matcher.group(1));
  }

  private static void assertSubmitWorks(TestDatabase db) throws SQLException {
    try (Connection connection = db.connect();
        Statement statement = connection.createStatement()) {
      statement.execute("SELECT taskbroker.submit('echo', '{\"x\": 1}')");
      try (ResultSet rows =
          statement.executeQuery("SELECT status FROM taskbroker.jobs WHERE plugin = 'echo'")) {
        assertThat(rows.next()).isTrue();
        assertThat(rows.getString(1)).isEqualTo("pending");
      }
    }
  }

  /** Every object of the schema with its definition, Flyway's history table aside. */
  private static List<String> schemaFingerprint(TestDatabase db) throws SQLException {
    String sql =
        """
        SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
               || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
               || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE n.nspname = 'taskbroker' AND a.attnum > 0 AND NOT a.attisdropped
           AND c.relname <> 'taskbroker_schema_history' AND c.relkind IN ('r', 'v')
        UNION ALL
        SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(co.oid)
          FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace
         WHERE n.nspname = 'taskbroker' AND conname NOT LIKE 'taskbroker_schema_history%'
        UNION ALL
        SELECT 'index ' || indexdef FROM pg_indexes
         WHERE schemaname = 'taskbroker' AND tablename <> 'taskbroker_schema_history'
        UNION ALL
        SELECT 'function ' || p.proname || ' ' || md5(pg_get_functiondef(p.oid))
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = 'taskbroker'
        UNION ALL
        SELECT 'trigger ' || tgname || ' ' || pg_get_triggerdef(t.oid)
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'taskbroker' AND NOT t.tgisinternal
        UNION ALL
        SELECT 'view ' || viewname || ' ' || md5(definition) FROM pg_views
         WHERE schemaname = 'taskbroker'
        UNION ALL
        SELECT 'options ' || c.relname || ' ' || array_to_string(c.reloptions, ',')
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'taskbroker' AND c.reloptions IS NOT NULL
        ORDER BY 1
        """;
    List<String> lines = new ArrayList<>();
    try (Connection connection = db.connect();
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(sql)) {
      while (rows.next()) {
        lines.add(rows.getString(1));
      }
    }
    return lines;
  }
}
