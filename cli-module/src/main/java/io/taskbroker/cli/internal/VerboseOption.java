package io.taskbroker.cli.internal;

import picocli.CommandLine.Option;

/** {@code --verbose}: debug logging, and stack traces with errors. Not thread-safe. */
public final class VerboseOption {
  public static final String NAME = "--verbose";

  @Option(
      names = {"-v", NAME},
      description = "Log at debug level and show stack traces with errors.")
  boolean verbose;
}
