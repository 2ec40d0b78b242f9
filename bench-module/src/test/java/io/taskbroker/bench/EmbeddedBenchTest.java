package io.taskbroker.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code taskbroker bench --embedded}: its options, its failure to start, and the server it starts
 * (one, in about three seconds), without running a workload.
 */
class EmbeddedBenchTest {

  @Test
  void embeddedAndDatabaseUrlAreAUsageErrorBeforeAnythingStarts(@TempDir Path parent)
      throws Exception {
    StringWriter err = new StringWriter();
    int code =
        bench(
            err,
            "--embedded",
            "--embedded-dir=" + parent,
            "--database-url=postgresql://nobody@127.0.0.1:1/none");
    assertThat(code).isEqualTo(2);
    assertThat(err.toString())
        .isEqualTo(
            "taskbroker bench: --embedded and --database-url exclude each other; give one"
                + System.lineSeparator());
    assertThat(entries(parent)).isZero();
  }

  @Test
  void embeddedDirWithoutEmbeddedIsAUsageError(@TempDir Path parent) {
    StringWriter err = new StringWriter();
    int code =
        bench(
            err, "--embedded-dir=" + parent, "--database-url=postgresql://nobody@127.0.0.1:1/none");
    assertThat(code).isEqualTo(2);
    assertThat(err.toString()).contains("--embedded-dir only applies with --embedded");
  }

  @Test
  void embeddedServerThatCannotStartIsOneLineAndExitOne(@TempDir Path parent) throws Exception {
    Path notADirectory = Files.writeString(parent.resolve("a-file"), "x");
    StringWriter err = new StringWriter();
    int code = bench(err, "--embedded", "--embedded-dir=" + notADirectory.resolve("data"));
    assertThat(code).isEqualTo(1);
    assertThat(err.toString().lines())
        .singleElement()
        .asString()
        .startsWith("taskbroker bench: the embedded PostgreSQL did not start: cannot use ")
        .contains(notADirectory.resolve("data").toString());
  }

  @Test
  void embeddedServerKeepsDurabilityAndAutovacuumOnAndLeavesNothingBehind(@TempDir Path parent)
      throws Exception {
    ByteArrayOutputStream logged = new ByteArrayOutputStream();
    PrintStream log = new PrintStream(logged, true, StandardCharsets.UTF_8);
    Path dataDirectory;
    Map<String, String> settings = new HashMap<>();
    try (EmbeddedServer server = EmbeddedServer.start(parent, log)) {
      dataDirectory = server.dataDirectory();
      assertThat(dataDirectory).startsWith(parent).isDirectory();
      assertThat(server.describe().path("port").asInt()).isEqualTo(server.port());
      try (Connection connection =
              DriverManager.getConnection(server.jdbcUrl(), EmbeddedServer.USER, "");
          Statement statement = connection.createStatement();
          ResultSet rs =
              statement.executeQuery(
                  "SELECT name, setting FROM pg_settings WHERE name IN"
                      + " ('fsync', 'synchronous_commit', 'autovacuum', 'server_version_num')")) {
        while (rs.next()) {
          settings.put(rs.getString(1), rs.getString(2));
        }
      }
    }
    assertThat(settings)
        .containsEntry("fsync", "on")
        .containsEntry("synchronous_commit", "on")
        .containsEntry("autovacuum", "on");
    assertThat(Integer.parseInt(settings.get("server_version_num"))).isBetween(150000, 159999);
    assertThat(dataDirectory).doesNotExist();
    assertThat(entries(parent)).as("left in %s", parent).isZero();
    assertThat(logged.toString(StandardCharsets.UTF_8))
        .contains("bench: embedded PostgreSQL ready on localhost:")
        .contains("bench: embedded PostgreSQL stopped; deleted " + dataDirectory);
  }

  private static int bench(StringWriter err, String... args) {
    return new CommandLine(new BenchCommand())
        .setOut(new PrintWriter(new StringWriter()))
        .setErr(new PrintWriter(err))
        .execute(args);
  }

  private static long entries(Path directory) throws Exception {
    try (Stream<Path> paths = Files.list(directory)) {
      return paths.count();
    }
  }
}
