package io.taskbroker.bench;

import ch.qos.logback.classic.Level;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;

/**
 * Runs {@link BenchCommand} on its own, without the {@code taskbroker} command line: {@code java
 * -cp taskbroker.jar io.taskbroker.bench.BenchMain --help}. Logs at WARN so the table is not buried
 * under connection-pool chatter.
 */
public final class BenchMain {
  private BenchMain() {}

  public static void main(String[] args) {
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME))
        .setLevel(Level.WARN);
    // Flyway warns that the schema exists on every run; that is expected here.
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("org.flywaydb")).setLevel(Level.ERROR);
    System.exit(new CommandLine(new BenchCommand()).execute(args));
  }
}
