package io.taskbroker.worker.it;

import static org.awaitility.Awaitility.await;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A worker running in a JVM of its own ({@link ProcessWorkerMain}), with its output in a file under
 * {@code target/it-workers}. Signals are real: SIGKILL, SIGTERM, SIGSTOP and SIGCONT. Not
 * thread-safe; one test drives it.
 */
final class WorkerProcess implements AutoCloseable {
  private static final Path LOG_ROOT = Path.of("target", "it-workers");
  private static final Pattern WORKER_LINE = Pattern.compile("(?m)^WORKER (\\S+) ");

  private static String snapshotClassPath; // guarded by WorkerProcess.class

  private final String name;
  private final Process process;
  private final Path log;
  private final long startedNanos = System.nanoTime();
  private boolean paused;

  private WorkerProcess(String name, Process process, Path log) {
    this.name = name;
    this.process = process;
    this.log = log;
  }

  /**
   * Starts a worker JVM on the test's own class path (failsafe's, which holds the test and main
   * classes; a manifest-only jar would work as a class path too), see {@link #classPath()}. Returns
   * at once; see {@link #awaitReady()}.
   *
   * @param testName the directory its output goes to, e.g. the test class
   * @param name this worker's name within the test, e.g. {@code w1}
   */
  static WorkerProcess start(String testName, String name, WorkerOptions options) {
    Path directory = LOG_ROOT.resolve(testName);
    Path log = directory.resolve(name + ".log");
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-cp");
    command.add(classPath());
    command.add("-Xmx256m");
    // Small and quick to start: two cores are shared by the test, PostgreSQL and up to 3 workers.
    command.add("-XX:+UseSerialGC");
    command.add("-XX:TieredStopAtLevel=1");
    // Time bugs hide in UTC; the workers run in yet another zone than the test JVM.
    command.add("-Duser.timezone=America/St_Johns");
    command.add(ProcessWorkerMain.class.getName());
    command.addAll(options.arguments());
    try {
      Files.createDirectories(directory);
      Process process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
      return new WorkerProcess(name, process, log);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start worker process " + name, e);
    }
  }

  /**
   * The test JVM's class path, with our own classes (directories, and the {@code taskbroker-*} jars
   * of this reactor) copied once per test JVM into a private directory: other builds in the same
   * checkout may recompile {@code target/} or reinstall the snapshot jars while the suite runs, and
   * a worker started then would not find its classes. Third-party jars are used in place.
   */
  private static synchronized String classPath() {
    if (snapshotClassPath == null) {
      try {
        Path snapshot = Files.createTempDirectory("taskbroker-it-classpath-");
        Runtime.getRuntime()
            .addShutdownHook(new Thread(() -> deleteQuietly(snapshot), "it-classpath-cleanup"));
        List<String> entries = new ArrayList<>();
        int index = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
          Path path = Path.of(entry);
          boolean ours =
              Files.isDirectory(path)
                  || (Files.isRegularFile(path)
                      && path.getFileName().toString().startsWith("taskbroker"));
          if (ours) {
            Path copy = snapshot.resolve(index++ + "-" + path.getFileName());
            copyRecursively(path, copy);
            entries.add(copy.toString());
          } else {
            entries.add(entry);
          }
        }
        snapshotClassPath = String.join(File.pathSeparator, entries);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot snapshot the class path for worker processes", e);
      }
    }
    return snapshotClassPath;
  }

  private static void copyRecursively(Path source, Path target) throws IOException {
    try (Stream<Path> paths = Files.walk(source)) {
      for (Path path : paths.toList()) {
        Path destination = target.resolve(source.relativize(path).toString());
        if (Files.isDirectory(path)) {
          Files.createDirectories(destination);
        } else {
          Files.createDirectories(destination.getParent());
          Files.copy(path, destination, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  private static void deleteQuietly(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException | UncheckedIOException e) {
      // A leftover temporary directory is harmless.
    }
  }

  /** Waits until the worker printed {@code READY}; fails with its output if it died first. */
  WorkerProcess awaitReady() {
    await("worker " + name + " ready")
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(50))
        .until(
            () -> {
              if (output().contains("READY ")) {
                return true;
              }
              if (!process.isAlive()) {
                throw new AssertionError(
                    "worker " + name + " died before it was ready:\n" + output());
              }
              return false;
            });
    System.out.printf(
        "%s: worker %s (pid %d) ready in %d ms%n",
        log.getParent().getFileName(), name, pid(), (System.nanoTime() - startedNanos) / 1_000_000);
    return this;
  }

  String name() {
    return name;
  }

  /** The worker id it printed before starting, once it has. */
  Optional<String> workerId() {
    Matcher matcher = WORKER_LINE.matcher(output());
    return matcher.find() ? Optional.of(matcher.group(1)) : Optional.empty();
  }

  /** The worker id; call after {@link #awaitReady()}. */
  String id() {
    return workerId().orElseThrow(() -> new AssertionError("worker " + name + " has no id yet"));
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  Process process() {
    return process;
  }

  /** Everything the process printed so far. */
  String output() {
    try {
      return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  boolean outputContains(String text) {
    return output().contains(text);
  }

  /** SIGKILL, and waits until the process is gone. */
  void kill() {
    resumeIfPaused();
    process.destroyForcibly();
    waitForExit(Duration.ofSeconds(30));
  }

  /** SIGTERM: the shutdown hook drains and hands back. Returns at once. */
  void terminate() {
    process.destroy();
  }

  /** SIGSTOP: the JVM freezes, every thread at once, as under a long GC pause or a VM freeze. */
  void pause() {
    signal("-STOP");
    paused = true;
  }

  /** SIGCONT. */
  void resume() {
    signal("-CONT");
    paused = false;
  }

  /**
   * @return the exit code
   * @throws AssertionError if it is still running after {@code timeout}
   */
  int waitForExit(Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError("worker " + name + " still runs after " + timeout);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted waiting for worker " + name, e);
    }
    return process.exitValue();
  }

  private void resumeIfPaused() {
    if (paused && process.isAlive()) {
      resume();
    }
  }

  private void signal(String signal) {
    try {
      Process kill = new ProcessBuilder("kill", signal, Long.toString(pid())).start();
      if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new AssertionError("kill " + signal + " " + pid() + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted sending " + signal, e);
    }
  }

  /** Kills the process if it still runs (a paused one is resumed first so SIGKILL is prompt). */
  @Override
  public void close() {
    if (process.isAlive()) {
      kill();
    }
  }

  @Override
  public String toString() {
    return "worker " + name + " (pid " + pid() + ")";
  }
}
