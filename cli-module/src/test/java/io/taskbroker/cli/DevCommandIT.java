package io.taskbroker.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code java -jar target/taskbroker.jar dev} as a real process: embedded PostgreSQL, migrate,
 * worker; a second process submits and waits; SIGTERM stops everything with exit code 0. Needs the
 * jar, which the {@code package} phase builds before failsafe runs.
 */
class DevCommandIT {
  private static final Duration STARTUP = Duration.ofSeconds(120);
  private static final Duration COMMAND = Duration.ofSeconds(90);
  private static final Duration STOP = Duration.ofSeconds(30);

  @TempDir Path temp;

  private Process dev;
  private Path dataDir;

  @AfterEach
  void stopLeftovers() throws IOException {
    if (dev != null && dev.isAlive()) {
      dev.destroyForcibly();
    }
    // A dev process that died hard leaves the PostgreSQL it started; stop that one by its pid.
    if (dataDir != null) {
      Path pidFile = dataDir.resolve("postgres").resolve("postmaster.pid");
      if (Files.exists(pidFile)) {
        long pid = Long.parseLong(Files.readAllLines(pidFile).get(0).strip());
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
      }
    }
  }

  @Test
  void devRunsPostgresAndAWorkerAndStopsCleanlyOnSigterm() throws Exception {
    jar();
    dataDir = temp.resolve("dev-data");
    int port = freePort();
    String url = "postgresql://postgres@localhost:" + port + "/postgres";
    Path devErr = temp.resolve("dev.err");
    ProcessBuilder builder =
        command("dev", "--data-dir", dataDir.toString(), "--port", Integer.toString(port))
            .redirectError(devErr.toFile());
    dev = builder.start();
    List<String> devOut = readLines(dev);

    await()
        .atMost(STARTUP)
        .pollInterval(Duration.ofMillis(200))
        // The banner's last line, not its first: the reader thread may not have the rest yet.
        .until(
            () ->
                devOut.stream().anyMatch(l -> l.startsWith("Stop with Ctrl-C")) || !dev.isAlive());
    assertThat(dev.isAlive()).as("dev died:\n%s", read(devErr)).isTrue();
    assertThat(String.join("\n", devOut))
        .contains(DevCommand.READY)
        .contains("psql " + url)
        .contains("submit echo");

    Run submit = run("submit", "echo", "--payload", "{\"x\":1}", "--database-url", url, "--wait");
    assertThat(submit.exitCode()).as(submit.toString()).isZero();
    assertThat(submit.out().strip()).isEqualTo("{\"status\":\"success\",\"data\":{\"x\":1}}");

    Run second =
        run("dev", "--data-dir", dataDir.toString(), "--port", Integer.toString(freePort()));
    assertThat(second.exitCode()).as(second.toString()).isEqualTo(1);
    assertThat(second.errLines())
        .singleElement()
        .asString()
        .startsWith(
            "error: another 'taskbroker dev' (pid " + dev.pid() + ") is already running on");

    // The jar's own logging: an unreachable database is one line, no Hikari stack trace.
    Run unreachable = run("jobs", "--database-url", "postgresql://postgres@127.0.0.1:1/x");
    assertThat(unreachable.exitCode()).isEqualTo(5);
    assertThat(unreachable.errLines())
        .as(unreachable.toString())
        .singleElement()
        .asString()
        .startsWith("error: cannot connect to PostgreSQL at 127.0.0.1:1/x as postgres");

    dev.destroy(); // SIGTERM
    assertThat(dev.waitFor(STOP.toSeconds(), TimeUnit.SECONDS))
        .as("dev still running %s after SIGTERM:\n%s", STOP, read(devErr))
        .isTrue();
    assertThat(dev.exitValue()).as(read(devErr)).isZero();
    assertThat(read(devErr)).contains("SIGTERM received").contains("PostgreSQL stopped");
    assertThat(dataDir.resolve("postgres").resolve("postmaster.pid")).doesNotExist();
  }

  private ProcessBuilder command(String... args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-jar");
    command.add(jar().toString());
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).directory(temp.toFile());
    // Only the flags choose the database.
    builder
        .environment()
        .keySet()
        .removeIf(name -> name.equals("DATABASE_URL") || name.startsWith("PG"));
    return builder;
  }

  private Run run(String... args) throws IOException, InterruptedException {
    Path out = Files.createTempFile(temp, "out", ".txt");
    Path err = Files.createTempFile(temp, "err", ".txt");
    Process process =
        command(args).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!process.waitFor(COMMAND.toSeconds(), TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError(
          "taskbroker " + String.join(" ", args) + " did not finish within " + COMMAND);
    }
    return new Run(process.exitValue(), read(out), read(err));
  }

  /**
   * The jar that {@code package} built. A run before {@code package} (surefire picks this class up
   * when {@code -Dtest} names its package) has no jar, or one older than the classes: that run is
   * skipped, as testing an old jar would prove nothing; failsafe's run after {@code package} does
   * the work.
   */
  private static Path jar() {
    Path target = Path.of(System.getProperty("basedir", ".")).resolve("target");
    Path jar = target.resolve("taskbroker.jar");
    Path main = target.resolve("classes/io/taskbroker/cli/Main.class");
    try {
      assumeTrue(
          Files.exists(jar)
              && Files.getLastModifiedTime(jar).compareTo(Files.getLastModifiedTime(main)) >= 0,
          "needs target/taskbroker.jar built from the current classes: runs after 'package'");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return jar;
  }

  private static List<String> readLines(Process process) {
    List<String> lines = new CopyOnWriteArrayList<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader in =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                  lines.add(line);
                }
              } catch (IOException e) {
                // The process ended; what was read is kept.
              }
            },
            "dev-stdout");
    reader.setDaemon(true);
    reader.start();
    return lines;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private record Run(int exitCode, String out, String err) {
    List<String> errLines() {
      return err.lines().toList();
    }

    @Override
    public String toString() {
      return "exit " + exitCode + "\n--- out ---\n" + out + "--- err ---\n" + err;
    }
  }
}
