package io.taskbroker.cli.internal;

import ch.qos.logback.classic.Level;
import java.util.Collection;
import java.util.Set;
import org.slf4j.LoggerFactory;

/** Switches the process between normal and {@code --verbose} logging. Thread-safe. */
public final class Logging {
  private static volatile boolean verbose;

  private Logging() {}

  public static boolean isVerbose() {
    return verbose;
  }

  private static Level configuredLevel;

  // The passwords of this run; the log layout masks them. Process-wide, as logging is.
  private static volatile Set<String> secrets = Set.of();

  /** Log lines from now on mask these passwords (besides every password-shaped value). */
  public static void hideSecrets(Collection<String> passwords) {
    secrets = Set.copyOf(passwords);
  }

  public static Set<String> secrets() {
    return secrets;
  }

  /** Verbose: taskbroker logs at DEBUG and errors come with their stack traces. */
  public static void setVerbose(boolean on) {
    // Only when Logback is the binding (it is in the jar); a host application may bring another.
    if (LoggerFactory.getLogger("io.taskbroker") instanceof ch.qos.logback.classic.Logger logger) {
      synchronized (Logging.class) {
        if (on && !verbose) {
          configuredLevel = logger.getLevel();
          logger.setLevel(Level.DEBUG);
        } else if (!on && verbose) {
          // Back to what the configuration said, not to "inherit": a test JVM may have set it.
          logger.setLevel(configuredLevel);
        }
      }
    }
    verbose = on;
  }
}
