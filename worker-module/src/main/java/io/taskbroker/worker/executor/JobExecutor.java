package io.taskbroker.worker.executor;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.plugin.FailJob;
import io.taskbroker.api.plugin.JobCancelledException;
import io.taskbroker.api.plugin.RetryJob;
import io.taskbroker.api.plugin.SnoozeJob;
import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.worker.internal.StorableText;
import io.taskbroker.worker.plugins.PluginRegistry;
import java.io.PrintWriter;
import java.io.Writer;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs claimed jobs, one thread each, and turns every way an attempt can end into an {@link
 * Outcome} for the completer. Writes no SQL. The pipeline per job: resolve plugin → start timeout →
 * perform → normalise outcome → hand to the sink.
 *
 * <p>Concurrency is bounded by the producers' slots, not by this pool: a plugin that ignores
 * interruption after its timeout keeps its thread, but its slot is freed when the timeout decides
 * the outcome, so it cannot starve the worker. Thread-safe.
 */
public final class JobExecutor {
  private static final Logger LOG = LoggerFactory.getLogger(JobExecutor.class);
  private static final int TRACE_LINES = 12;
  private static final int MAX_TRACE_LINE_CHARS = 1024;

  private final PluginRegistry plugins;
  private final OutcomeSink sink;
  private final Duration defaultTimeout;
  private final ExecutorService threads;
  private final ScheduledExecutorService watchdog;
  private final AtomicInteger busy = new AtomicInteger();

  public JobExecutor(PluginRegistry plugins, OutcomeSink sink, Duration defaultTimeout) {
    this.plugins = plugins;
    this.sink = sink;
    this.defaultTimeout = defaultTimeout;
    AtomicInteger counter = new AtomicInteger();
    this.threads =
        new ThreadPoolExecutor(
            0,
            Integer.MAX_VALUE,
            60,
            TimeUnit.SECONDS,
            new SynchronousQueue<>(),
            runnable -> {
              Thread thread = new Thread(runnable, "taskbroker-job-" + counter.incrementAndGet());
              thread.setDaemon(true);
              return thread;
            });
    this.watchdog =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> {
              Thread thread = new Thread(runnable, "taskbroker-timeouts");
              thread.setDaemon(true);
              return thread;
            });
  }

  /** Starts the job on its own thread and returns at once. */
  public void start(RunningJob job) {
    job.onCancelRequest(reason -> cancel(job, reason));
    threads.execute(() -> run(job));
  }

  /**
   * A user's cancel of a running job (the database has it recorded), decided like a timeout: the
   * job's outcome is {@code cancelled} at once and handed to the sink, which frees its slot, and
   * the plugin is interrupted. A plugin that ignores the interrupt keeps its thread, abandoned;
   * what it returns later is dropped. Does nothing when the outcome was decided already (the plugin
   * returned first: its outcome stands, and the completion statement turns a failure into {@code
   * cancelled}).
   */
  public void cancel(RunningJob job, String reason) {
    if (!job.decide()) {
      LOG.debug("Job {}: cancel requested after its outcome was decided", job.id());
      return;
    }
    job.cancel(reason, true);
    LOG.info(
        "Job {} ({}): {}; interrupted the plugin and freed its slot (a plugin that ignores the"
            + " interrupt keeps its thread until it returns)",
        job.id(),
        job.job().plugin(),
        reason);
    handOver(job, new Outcome.Cancelled(reason));
  }

  /** Threads inside a plugin right now, including ones whose outcome was already decided. */
  public int busyThreads() {
    return busy.get();
  }

  private void run(RunningJob job) {
    busy.incrementAndGet();
    job.attach(Thread.currentThread());
    ScheduledFuture<?> timer = null;
    try {
      if (job.isDecided()) {
        // Cancelled before its thread started: the outcome is with the completer already.
        return;
      }
      Optional<TaskPlugin> plugin = plugins.find(job.job().plugin());
      if (plugin.isEmpty()) {
        // The claim filters on our plugins, so this means the registry and claim disagree.
        finish(
            job,
            new Outcome.Failed(
                "no_plugin",
                "worker has no plugin named '" + job.job().plugin() + "'",
                null,
                true));
        return;
      }
      Duration timeout = timeoutFor(job, plugin.get());
      if (timeout != null) {
        timer =
            watchdog.schedule(
                () -> timeOut(job, timeout), timeout.toMillis(), TimeUnit.MILLISECONDS);
      }
      if (job.isCancelled()) {
        finish(job, cancelledOutcome(job));
        return;
      }
      Outcome outcome = perform(job, plugin.get());
      finish(job, outcome);
    } catch (RuntimeException | Error e) {
      LOG.error("Job {}: the executor failed around the plugin; recording it failed", job.id(), e);
      finish(job, new Outcome.Failed("error", describe(e), trace(e), true));
    } finally {
      if (timer != null) {
        timer.cancel(false);
      }
      job.detach();
      busy.decrementAndGet();
      // Clear an interrupt aimed at this job so it does not leak into the next one.
      Thread.interrupted();
    }
  }

  private Outcome perform(RunningJob job, TaskPlugin plugin) {
    try {
      JsonNode result = plugin.execute(new JobContext(job));
      return new Outcome.Completed(result);
    } catch (RetryJob retry) {
      return new Outcome.Retry(retry.at(), retry.after(), "retry requested: " + retry.getMessage());
    } catch (SnoozeJob snooze) {
      return new Outcome.Snooze(snooze.after());
    } catch (FailJob fail) {
      return new Outcome.Failed("error", fail.getMessage(), trace(fail), false);
    } catch (JobCancelledException | InterruptedException e) {
      if (job.isCancelled()) {
        return cancelledOutcome(job);
      }
      return new Outcome.Failed("error", describe(e), trace(e), true);
    } catch (Exception | Error e) {
      if (job.isCancelledByRequest()) {
        return cancelledOutcome(job);
      }
      if (e instanceof VirtualMachineError) {
        LOG.error("Job {} ({}) hit {}", job.id(), job.job().plugin(), e.toString());
      }
      return new Outcome.Failed("error", describe(e), trace(e), true);
    }
  }

  private Outcome cancelledOutcome(RunningJob job) {
    if (job.isCancelledByRequest()) {
      return new Outcome.Cancelled(job.cancelReason());
    }
    // Cancelled for a timeout or a shutdown: a failed attempt, retried like any other.
    return new Outcome.Failed("error", "interrupted: " + job.cancelReason(), null, true);
  }

  private void timeOut(RunningJob job, Duration timeout) {
    if (!job.decide()) {
      return;
    }
    job.cancel("timed out after " + timeout, false);
    LOG.warn(
        "Job {} ({}) timed out after {}; interrupted it and freed its slot",
        job.id(),
        job.job().plugin(),
        timeout);
    handOver(job, new Outcome.Failed("timeout", "timed out after " + timeout, null, true));
  }

  private void finish(RunningJob job, Outcome outcome) {
    if (job.decide()) {
      handOver(job, outcome);
    } else {
      LOG.info(
          "Job {} ({}): the plugin returned after its outcome was decided ({}); its late result"
              + " is dropped",
          job.id(),
          job.job().plugin(),
          job.cancelReason());
    }
  }

  /** The outcome is decided: only the sink can end the job now, so its failure is logged loudly. */
  private void handOver(RunningJob job, Outcome outcome) {
    try {
      sink.accept(job, outcome);
    } catch (RuntimeException e) {
      LOG.error(
          "Job {}: the completer refused its outcome; the job stays held until the worker stops",
          job.id(),
          e);
    }
  }

  private Duration timeoutFor(RunningJob job, TaskPlugin plugin) {
    if (job.job().timeoutMs() != null) {
      return Duration.ofMillis(job.job().timeoutMs());
    }
    return plugin.timeout().orElse(defaultTimeout);
  }

  /** Stops the timers and lets idle threads go; running plugins are left to the caller. */
  public void stop() {
    watchdog.shutdownNow();
    threads.shutdown();
  }

  /**
   * The exception as one line of error text. Safe with any throwable: a plugin's exception whose
   * getMessage() itself throws still yields a description. The completer bounds its length.
   */
  static String describe(Throwable e) {
    String message;
    try {
      message = e.getMessage();
    } catch (RuntimeException unreadable) {
      message = "(its message could not be read: " + unreadable.getClass().getName() + ")";
    }
    return e.getClass().getName() + (message == null ? "" : ": " + message);
  }

  /**
   * The first {@value #TRACE_LINES} lines of the stack trace, each cut to {@value
   * #MAX_TRACE_LINE_CHARS} characters: a 20 MB exception message is also the trace's first line.
   */
  static String trace(Throwable e) {
    TraceWriter text = new TraceWriter();
    try (PrintWriter printer = new PrintWriter(text)) {
      e.printStackTrace(printer);
    } catch (RuntimeException unprintable) {
      char[] note =
          ("\t(the rest could not be printed: " + describe(unprintable) + ")\n").toCharArray();
      text.write(note, 0, note.length);
    }
    return text.result();
  }

  /** Keeps the first lines of what is written to it, each bounded; counts the rest. */
  private static final class TraceWriter extends Writer {
    private final StringBuilder kept = new StringBuilder();
    private int lines;
    private int lineChars;
    private long cutFromLine;
    private long linesLeftOut;

    @Override
    public void write(char[] chars, int offset, int length) {
      for (int i = offset; i < offset + length; i++) {
        char c = chars[i];
        if (c == '\r') {
          continue;
        }
        if (lines >= TRACE_LINES) {
          if (c == '\n') {
            linesLeftOut++;
          }
          continue;
        }
        if (c == '\n') {
          endLine();
        } else if (lineChars < MAX_TRACE_LINE_CHARS) {
          kept.append(c);
          lineChars++;
        } else {
          cutFromLine++;
        }
      }
    }

    private void endLine() {
      if (cutFromLine > 0) {
        kept.append(StorableText.marker(cutFromLine));
      }
      kept.append('\n');
      lines++;
      lineChars = 0;
      cutFromLine = 0;
    }

    String result() {
      if (lines < TRACE_LINES && (lineChars > 0 || cutFromLine > 0)) {
        endLine();
      }
      if (linesLeftOut > 0) {
        kept.append("\t... ").append(linesLeftOut).append(" more\n");
      }
      return kept.toString();
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  }
}
