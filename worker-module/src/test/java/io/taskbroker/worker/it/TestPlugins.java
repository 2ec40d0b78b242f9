package io.taskbroker.worker.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.common.Json;
import java.util.List;
import java.util.Locale;
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
        new Cancellable(recorder, workerId),
        new Counted(recorder, workerId),
        new Throwing(recorder, workerId),
        new Stubborn(recorder, workerId),
        new Unwritable(recorder, workerId),
        new BadProgress(recorder, workerId),
        new HugeError(recorder, workerId));
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

  /**
   * {@code counted}: records its start, sleeps a random time between {@code min_ms} and {@code
   * max_ms} interruptibly, records that it finished (in {@code it_finished}, with its worker and
   * attempt) and returns {@code {worker, attempt}}. Whether that result was then written is the
   * jobs table's business: a worker killed between the two leaves a finish that was never written,
   * and the job runs again.
   */
  static final class Counted extends Recording {
    Counted(ExecutionRecorder recorder, String workerId) {
      super("counted", recorder, workerId);
    }

    @Override
    JsonNode run(TaskContext context) throws Exception {
      ObjectNode payload = context.payload();
      long min = payload.path("min_ms").asLong(5);
      long max = Math.max(min, payload.path("max_ms").asLong(50));
      TimeUnit.MILLISECONDS.sleep(ThreadLocalRandom.current().nextLong(min, max + 1));
      recorder.finished(context.jobId(), workerId, context.attempt());
      return result(workerId, context);
    }
  }

  /** {@code throws}: records, then throws, every time it runs. */
  static final class Throwing extends Recording {
    static final String MESSAGE = "the throws plugin fails on purpose";

    Throwing(ExecutionRecorder recorder, String workerId) {
      super("throws", recorder, workerId);
    }

    @Override
    JsonNode run(TaskContext context) {
      throw new IllegalStateException(MESSAGE);
    }
  }

  /**
   * {@code stubborn}: records, then ignores interruption (a timeout's or a cancel's) and its
   * context's cancellation for {@code max_ms} (default 10 s), then returns a result, which comes
   * too late to count. Sleeps in short steps, so an interrupt costs no CPU.
   */
  static final class Stubborn extends Recording {
    Stubborn(ExecutionRecorder recorder, String workerId) {
      super("stubborn", recorder, workerId);
    }

    @Override
    JsonNode run(TaskContext context) {
      long deadline =
          System.nanoTime()
              + TimeUnit.MILLISECONDS.toNanos(context.payload().path("max_ms").asLong(10_000));
      while (System.nanoTime() < deadline) {
        try {
          TimeUnit.MILLISECONDS.sleep(50);
        } catch (InterruptedException e) {
          // Ignored on purpose: this plugin is the one that does not stop when asked.
        }
      }
      return result(workerId, context);
    }
  }

  /**
   * {@code unwritable}: records, then returns a result PostgreSQL cannot store, by {@code kind}:
   * {@code nul} (U+0000 in a string), {@code surrogate} (a lone UTF-16 surrogate) or {@code
   * oversized} (a string of {@code chars} characters, default 17 million: over the worker's default
   * 16 MB result limit).
   */
  static final class Unwritable extends Recording {
    Unwritable(ExecutionRecorder recorder, String workerId) {
      super("unwritable", recorder, workerId);
    }

    @Override
    JsonNode run(TaskContext context) {
      ObjectNode payload = context.payload();
      ObjectNode result = result(workerId, context);
      String kind = payload.path("kind").asText();
      switch (kind) {
        case "nul" -> result.put("text", "before\u0000after");
        case "surrogate" -> result.put("text", "before\ud800after");
        case "oversized" -> result.put("text", "x".repeat(payload.path("chars").asInt(17_000_000)));
        default -> throw new IllegalArgumentException("unknown kind '" + kind + "'");
      }
      return result;
    }
  }

  /**
   * {@code bad-progress}: records, reports progress whose message PostgreSQL refuses ({@code kind}
   * {@code nul} or {@code surrogate}), stays running for {@code sleep_ms} (default 1.5 s, several
   * heartbeats) and completes.
   */
  static final class BadProgress extends Recording {
    BadProgress(ExecutionRecorder recorder, String workerId) {
      super("bad-progress", recorder, workerId);
    }

    @Override
    JsonNode run(TaskContext context) throws Exception {
      String kind = context.payload().path("kind").asText();
      String message =
          switch (kind) {
            case "nul" -> "half\u0000way";
            case "surrogate" -> "half\udc00way";
            default -> throw new IllegalArgumentException("unknown kind '" + kind + "'");
          };
      context.reportProgress(0.5, message);
      TimeUnit.MILLISECONDS.sleep(context.payload().path("sleep_ms").asLong(1_500));
      return result(workerId, context);
    }
  }

  /**
   * {@code huge-error}: records, then throws an exception whose message is {@code chars} characters
   * long (default 20 million), every time it runs.
   */
  static final class HugeError extends Recording {
    HugeError(ExecutionRecorder recorder, String workerId) {
      super("huge-error", recorder, workerId);
    }

    @Override
    JsonNode run(TaskContext context) {
      int chars = context.payload().path("chars").asInt(20_000_000);
      throw new IllegalStateException(
          String.format(Locale.ROOT, "huge error of %d characters: ", chars) + "e".repeat(chars));
    }
  }
}
