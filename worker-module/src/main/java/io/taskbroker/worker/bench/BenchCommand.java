package io.taskbroker.worker.bench;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code taskbroker bench}. (Stub; the benchmark work fills it in.) */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "Run the standard benchmark workloads.")
public final class BenchCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    return 0;
  }
}
