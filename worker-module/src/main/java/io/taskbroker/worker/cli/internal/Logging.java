package io.taskbroker.worker.cli.internal;

import ch.qos.logback.classic.Level;
import org.slf4j.LoggerFactory;

/** Switches the process between normal and {@code --verbose} logging. Thread-safe. */
public final class Logging {
  private static volatile boolean verbose;

  private Logging() {}

  public static boolean isVerbose() {
    return verbose;
  }

  /** Verbose: taskbroker logs at DEBUG and errors come with their stack traces. */
  public static void setVerbose(boolean on) {
    verbose = on;
    // Only when Logback is the binding (it is in the jar); a host application may bring another.
    if (LoggerFactory.getLogger("io.taskbroker") instanceof ch.qos.logback.classic.Logger logger) {
      logger.setLevel(on ? Level.DEBUG : null);
    }
  }
}
