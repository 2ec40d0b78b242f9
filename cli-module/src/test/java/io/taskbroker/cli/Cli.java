package io.taskbroker.cli;

import io.taskbroker.cli.internal.CliContext;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.worker.process.StopSignals;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Runs {@code taskbroker} in this JVM, as a user would type it, and captures what it prints.
 * Immutable; each {@link #run} is independent.
 */
final class Cli {
  private final Map<String, String> env;
  private final StopSignals stopSignals;

  private Cli(Map<String, String> env, StopSignals stopSignals) {
    this.env = Map.copyOf(env);
    this.stopSignals = stopSignals;
  }

  /** A command line whose environment has only {@code DATABASE_URL} for this database. */
  static Cli against(TestDatabase database) {
    return new Cli(Map.of("DATABASE_URL", url(database)), new ManualStop());
  }

  /** A command line with an empty environment. */
  static Cli withoutEnvironment() {
    return new Cli(Map.of(), new ManualStop());
  }

  Cli withEnv(String name, String value) {
    Map<String, String> changed = new HashMap<>(env);
    changed.put(name, value);
    return new Cli(changed, stopSignals);
  }

  Cli withStop(StopSignals stop) {
    return new Cli(env, stop);
  }

  Result run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CliContext context =
        new CliContext(new PrintWriter(out, true), new PrintWriter(err, true), env, stopSignals);
    int exitCode = Main.run(args, context);
    return new Result(exitCode, out.toString(), err.toString());
  }

  /** A libpq URL with the test database's credentials in it. */
  static String url(TestDatabase database) {
    String hostAndName = database.jdbcUrl().substring("jdbc:postgresql://".length());
    String credentials =
        encode(database.user())
            + (database.password().isEmpty() ? "" : ":" + encode(database.password()));
    return "postgresql://" + credentials + "@" + hostAndName;
  }

  private static String encode(String text) {
    return URLEncoder.encode(text, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** What one run printed and returned. */
  record Result(int exitCode, String out, String err) {
    List<String> errLines() {
      return err.lines().toList();
    }

    /** The job id that {@code submit --wait} reports on stderr. */
    String submittedId() {
      return err.lines()
          .filter(line -> line.startsWith("submitted job "))
          .map(line -> line.substring("submitted job ".length()).split(" ")[0])
          .findFirst()
          .orElseThrow(() -> new AssertionError("no 'submitted job' line in: " + err));
    }

    @Override
    public String toString() {
      return "exit " + exitCode + "\n--- out ---\n" + out + "--- err ---\n" + err;
    }
  }

  /** Stop signals that a test sends by hand. Thread-safe. */
  static final class ManualStop implements StopSignals {
    private final CountDownLatch requested = new CountDownLatch(1);
    private final CountDownLatch stopped = new CountDownLatch(1);

    void requestStop() {
      requested.countDown();
    }

    boolean hasStopped() {
      return stopped.getCount() == 0;
    }

    @Override
    public StopRequest watch(Duration maxStopTime) {
      return new StopRequest() {
        @Override
        public void await() throws InterruptedException {
          requested.await();
        }

        @Override
        public boolean await(Duration timeout) throws InterruptedException {
          return requested.await(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        }

        @Override
        public boolean graceful() {
          return true;
        }

        @Override
        public void close() {
          stopped.countDown();
        }
      };
    }
  }
}
