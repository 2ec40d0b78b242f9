package io.taskbroker.cli.internal;

import io.taskbroker.worker.process.StopSignals;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * What a command may touch of its process: where output for the user goes ({@code out}; stdout in
 * the real command), where errors go ({@code err}), the environment variables it reads, and how it
 * learns that it should stop. Tests pass their own. Immutable; the writers are thread-safe.
 */
public record CliContext(
    PrintWriter out, PrintWriter err, Map<String, String> env, StopSignals stopSignals) {

  public CliContext {
    env = Map.copyOf(env);
  }

  public static CliContext of(
      PrintStream out, PrintStream err, Map<String, String> env, StopSignals stopSignals) {
    return new CliContext(writer(out), writer(err), env, stopSignals);
  }

  private static PrintWriter writer(PrintStream stream) {
    return new PrintWriter(new OutputStreamWriter(stream, StandardCharsets.UTF_8), true);
  }
}
