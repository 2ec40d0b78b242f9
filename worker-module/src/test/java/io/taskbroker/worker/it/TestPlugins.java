package io.taskbroker.worker.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.common.Json;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The plugins a {@link ProcessWorkerMain} worker runs. Each records every execution through the
 * {@link ExecutionRecorder} before doing anything else, and returns {@code {worker, attempt}} so
 * that a job's result tells which execution wrote it. Stateless apart from the worker id;
 * thread-safe.
 */
final class TestPlugins {
  private TestPlugins() {}

  static List<TaskPlugin> all(ExecutionRecorder recorder, String workerId) {
    return List.of(
        new Record(recorder, workerId),
        new Slow(recorder, workerId),
        new Poison(recorder, workerId),
        new Exit(recorder, workerId),
        new Cancellable(recorder, workerId));
  }

  static ObjectNode result(String workerId, TaskContext context) {
    ObjectNode result = Json.object();
    result.put("worker", workerId);
    result.put("attempt", context.attempt());
    return result;
  }

  /** Records the execution before the plugin does anything else. */
  abstract static class Recording implements TaskPlugin {
    private final String name;
    final ExecutionRecorder recorder;
    final String workerId;

    Recording(String name, ExecutionRecorder recorder, String workerId) {
      this.name = name;
      this.recorder = recorder;
      this.workerId = workerId;
    }

    @Override
    public final String name() {
      return name;
    }

    @Override
    public final JsonNode execute(TaskContext context) throws Exception {
      recorder.execution(context.jobId(), workerId, context.attempt());
      return run(context);
    }

    abstract JsonNode run(TaskContext context) throws Exception;
  }

  /**
   * {@code record}: records, then sleeps {@code sleep_ms} from the payload, or a random time
   * between {@code min_ms} and {@code max_ms} (inclusive), interruptibly.
   */
  static final class Record extends Recording {
    Record(ExecutionRecorder recorder, String workerId) {
      super("record", recorder, workerId);
    }

    @Override
    JsonNode run(TaskContext context) throws Exception {
      ObjectNode payload = context.payload();
      long sleepMillis;
      if (payload.has("min_ms") || payload.has("max_ms")) {
        long min = payload.path("min_ms").asLong(5);
        long max = payload.path("max_ms").asLong(50);
        sleepMillis = ThreadLocalRandom.current().nextLong(min, max + 1);
      } else {
        sleepMillis = payload.path("sleep_ms").asLong(0);
      }
      if (sleepMillis > 0) {
        TimeUnit.MILLISECONDS.sleep(sleepMillis);
      }
      return result(workerId, context);
    }
  }

  /** {@code slow}: records its start, then sleeps {@code sleep_ms} (default 60 s) interruptibly. */
  static final class Slow extends Recording {
    Slow(ExecutionRecorder recorder, String workerId) {
      super("slow", recorder, workerId);
    }

    @Override
    JsonNode run(TaskContext context) throws Exception {
      TimeUnit.MILLISECONDS.sleep(context.payload().path("sleep_ms").asLong(60_000));
      return result(workerId, context);
    }
  }

  /** {@code poison}: records, then kills its whole worker JVM, every time it runs. */
  static final class Poison extends Recording {
    Poison(ExecutionRecorder recorder, String workerId) {
      super("poison", recorder, workerId);
    }

    @Override
    JsonNode run(TaskContext context) throws Exception {
      System.out.println("POISON " + context.jobId() + " attempt " + context.attempt());
      System.out.flush();
      // No shutdown hooks, no hand-back: the process is gone as after a native crash or OOM kill.
      Runtime.getRuntime().halt(137);
      throw new AssertionError("unreachable");
    }
  }

  /**
   * {@code exit}: records, then calls {@code System.exit(5)}, every time it runs: the JVM's
   * shutdown hooks run (unlike {@code poison}'s halt), with no stop signal received.
   */
  static final class Exit extends Recording {
    Exit(ExecutionRecorder recorder, String workerId) {
      super("exit", recorder, workerId);
    }

    @Override
    JsonNode run(TaskContext context) throws Exception {
      System.out.println("EXIT " + context.jobId() + " attempt " + context.attempt());
      System.out.flush();
      System.exit(5);
      throw new AssertionError("unreachable");
    }
  }

  /**
   * {@code cancellable}: records its start, then polls {@link TaskContext#isCancelled()} every 10
   * ms for up to {@code max_ms} (default 60 s). When it sees the cancellation it records that in
   * {@code it_cancel_seen} and stops as a plugin should ({@code throwIfCancelled}); if none comes
   * it completes normally, so a lost cancel shows as a completed row.
   */
  static final class Cancellable extends Recording {
    Cancellable(ExecutionRecorder recorder, String workerId) {
      super("cancellable", recorder, workerId);
    }

    @Override
    JsonNode run(TaskContext context) throws Exception {
      long deadline =
          System.nanoTime()
              + TimeUnit.MILLISECONDS.toNanos(context.payload().path("max_ms").asLong(60_000));
      while (System.nanoTime() < deadline) {
        if (context.isCancelled()) {
          // The cancel's interrupt may still be pending; clear it so the record is written.
          Thread.interrupted();
          recorder.cancelSeen(context.jobId(), workerId);
          context.throwIfCancelled();
        }
        try {
          TimeUnit.MILLISECONDS.sleep(10);
        } catch (InterruptedException e) {
          // A cancel interrupts us as well as setting the flag; the loop looks at the flag.
        }
      }
      return result(workerId, context);
    }
  }
}
