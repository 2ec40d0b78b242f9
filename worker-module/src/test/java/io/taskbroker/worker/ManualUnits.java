package io.taskbroker.worker;

import io.taskbroker.common.Database;
import io.taskbroker.worker.completer.Completer;
import io.taskbroker.worker.maintenance.Rescuer;
import io.taskbroker.worker.plugins.PluginRegistry;
import io.taskbroker.worker.producer.Producer;
import java.util.Optional;
import java.util.concurrent.Executor;

/**
 * The test side's door to a worker built in manual mode ({@link Worker#manual}): its units are the
 * real ones, none started, for {@link io.taskbroker.worker.testing.ManualWorker} to step.
 */
public final class ManualUnits {
  private ManualUnits() {}

  public static Worker build(
      Database database, WorkerConfig config, PluginRegistry plugins, Executor jobRunner) {
    return Worker.manual(database, config, plugins, jobRunner);
  }

  public static Producer producer(Worker worker, String queue) {
    return worker.producer(queue);
  }

  public static Completer completer(Worker worker) {
    return worker.completer();
  }

  public static Optional<Rescuer> rescuer(Worker worker) {
    return worker.rescuer();
  }
}
