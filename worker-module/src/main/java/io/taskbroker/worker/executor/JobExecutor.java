package io.taskbroker.worker.executor;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.plugin.FailJob;
import io.taskbroker.api.plugin.JobCancelledException;
import io.taskbroker.api.plugin.RetryJob;
import io.taskbroker.api.plugin.SnoozeJob;
import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.worker.plugins.PluginRegistry;
import java.io.PrintWriter;
import java.io.StringWriter;
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
    threads.execute(() -> run(job));
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
    sink.accept(job, new Outcome.Failed("timeout", "timed out after " + timeout, null, true));
  }

  private void finish(RunningJob job, Outcome outcome) {
    if (job.decide()) {
      sink.accept(job, outcome);
    } else {
      LOG.info(
          "Job {} ({}): the plugin returned after its outcome was decided ({}); its late result"
              + " is dropped",
          job.id(),
          job.job().plugin(),
          job.cancelReason());
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

  static String describe(Throwable e) {
    String message = e.getMessage();
    return e.getClass().getName() + (message == null ? "" : ": " + message);
  }

  static String trace(Throwable e) {
    StringWriter text = new StringWriter();
    e.printStackTrace(new PrintWriter(text));
    String[] lines = text.toString().split("\n");
    StringBuilder shortTrace = new StringBuilder();
    for (int i = 0; i < Math.min(lines.length, TRACE_LINES); i++) {
      shortTrace.append(lines[i].stripTrailing()).append('\n');
    }
    if (lines.length > TRACE_LINES) {
      shortTrace.append("\t... ").append(lines.length - TRACE_LINES).append(" more\n");
    }
    return shortTrace.toString();
  }
}
