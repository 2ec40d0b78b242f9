package io.taskbroker.worker.executor;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.plugin.FailJob;
import io.taskbroker.api.plugin.InvalidPayloadException;
import io.taskbroker.api.plugin.JobCancelledException;
import io.taskbroker.api.plugin.RetryJob;
import io.taskbroker.api.plugin.SnoozeJob;
import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.common.Job;
import io.taskbroker.worker.internal.JobListeners;
import io.taskbroker.worker.internal.JobSpans;
import io.taskbroker.worker.internal.Service;
import io.taskbroker.worker.internal.StorableText;
import io.taskbroker.worker.plugins.PluginRegistry;
import java.io.PrintWriter;
import java.io.Writer;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Optional;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Runs claimed jobs, one thread each (a thread whose job frees its slot runs the next buffered job
 * itself), and turns every way an attempt can end into an {@link Outcome}, then into the write that
 * records it ({@link Outcomes}), for the completer. Writes no SQL. The pipeline per job: resolve
 * plugin → start timeout → perform (the job id, plugin and queue in the SLF4J MDC, so the plugin's
 * own log lines carry them) → normalise outcome → map to a write → hand to the sink. The producer
 * that claimed the job gave it its slot and its way out ({@link RunningJob#leave()}); nothing here
 * goes back through the worker.
 *
 * <p>Concurrency is bounded by the producers' slots, not by this pool: a plugin that ignores
 * interruption after its timeout keeps its thread, but its slot is freed when the timeout decides
 * the outcome, so it cannot starve the worker. Thread-safe.
 */
public final class JobExecutor implements Service {
  private static final Logger LOG = LoggerFactory.getLogger(JobExecutor.class);
  private static final int TRACE_LINES = 12;
  private static final int MAX_TRACE_LINE_CHARS = 1024;

  /** MDC keys set while a plugin runs, on its thread. */
  public static final String MDC_JOB_ID = "taskbroker.job_id";

  public static final String MDC_PLUGIN = "taskbroker.plugin";
  public static final String MDC_QUEUE = "taskbroker.queue";

  private final PluginRegistry plugins;
  private final Outcomes outcomes;
  private final OutcomeSink sink;
  private final JobListeners listeners;
  private final InstantSource clock;
  private final Duration defaultTimeout;
  private final Executor threads;
  private final ExecutorService ownThreads;
  private final ScheduledThreadPoolExecutor watchdog;
  private final AtomicInteger busy = new AtomicInteger();
  private static final ThreadLocal<Carry> CARRY = new ThreadLocal<>();

  /** An executor with a thread per running job. */
  public JobExecutor(
      PluginRegistry plugins,
      Outcomes outcomes,
      OutcomeSink sink,
      JobListeners listeners,
      InstantSource clock,
      Duration defaultTimeout) {
    this(plugins, outcomes, sink, listeners, clock, defaultTimeout, null);
  }

  /**
   * An executor that runs each job through {@code runner} (tests: a worker moved by hand runs them
   * on its caller's thread, when it chooses).
   */
  public JobExecutor(
      PluginRegistry plugins,
      Outcomes outcomes,
      OutcomeSink sink,
      JobListeners listeners,
      InstantSource clock,
      Duration defaultTimeout,
      Executor runner) {
    this.plugins = plugins;
    this.outcomes = outcomes;
    this.sink = sink;
    this.listeners = listeners;
    this.clock = clock;
    this.defaultTimeout = defaultTimeout;
    this.ownThreads = runner == null ? newPool() : null;
    this.threads = runner == null ? ownThreads : runner;
    ScheduledThreadPoolExecutor timers =
        new ScheduledThreadPoolExecutor(
            1,
            runnable -> {
              Thread thread = new Thread(runnable, "taskbroker-timeouts");
              thread.setDaemon(true);
              return thread;
            });
    // A finished job's timer leaves the queue at once. Left there until it would have fired (the
    // default), the queue would hold one cancelled task per job for the whole timeout: at 1,000
    // jobs/s under a 30-minute timeout, 1.8 million of them, each scheduling paying for the heap.
    timers.setRemoveOnCancelPolicy(true);
    this.watchdog = timers;
  }

  private static ExecutorService newPool() {
    AtomicInteger counter = new AtomicInteger();
    return new ThreadPoolExecutor(
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
  }

  @Override
  public String name() {
    return "executor";
  }

  /** Nothing to start: threads are made per job. */
  @Override
  public void start() {}

  /**
   * Starts the claimed job on a thread of its own and returns at once. A row this JVM could not
   * decode fails alone, at once, and for good (another attempt would read the same bytes); the rest
   * of its batch runs.
   */
  public void execute(RunningJob job) {
    if (!job.job().isDecoded()) {
      failUndecodable(job);
      return;
    }
    job.onCancelRequest(reason -> cancel(job, reason));
    Carry carry = ownThreads == null ? null : CARRY.get();
    if (carry != null && carry.open && carry.executor == this && carry.next == null) {
      // Started by a job of ours freeing its slot, on that job's thread: this thread runs it as
      // soon as it has finished the job before, instead of waking another and parking.
      carry.next = job;
      return;
    }
    threads.execute(() -> runFrom(job));
  }

  /**
   * Runs the job, then every job that a finishing job of this thread handed to it. A job that freed
   * its slot while its plugin was still running (timed out, cancelled) did so on the timeout or
   * notification thread, so a stuck plugin never holds a job behind it.
   */
  private void runFrom(RunningJob first) {
    Carry carry = new Carry(this);
    CARRY.set(carry);
    try {
      RunningJob job = first;
      while (job != null) {
        run(job);
        job = carry.next;
        carry.next = null;
      }
    } finally {
      CARRY.remove();
    }
  }

  /**
   * The job a pool thread runs next. Set only on a thread running one of this executor's jobs, and
   * taken only while that job's outcome is handed over (open), never while a plugin runs.
   */
  private static final class Carry {
    final JobExecutor executor;
    boolean open;
    RunningJob next;

    Carry(JobExecutor executor) {
      this.executor = executor;
    }
  }

  private void failUndecodable(RunningJob running) {
    Job job = running.job();
    LOG.warn(
        "Job {} ({}): cannot decode the claimed row ({}); failing it without running it",
        job.id(),
        job.plugin(),
        job.decodeError());
    if (running.decide(clock.instant())) {
      handOver(running, new Outcome.Failed(Outcome.UNDECODABLE, job.decodeError(), null, false));
    }
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
    if (!job.decide(clock.instant())) {
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

  /**
   * A job claimed ahead that will not start here after all (it waited too long for a slot): back to
   * pending at once with its attempt given back, for any worker. Decided like a cancel, so a cancel
   * racing it ends the job once; does nothing, and returns false, when the cancel came first.
   */
  public boolean giveBack(RunningJob job) {
    if (!job.decide(clock.instant())) {
      return false;
    }
    handOver(job, new Outcome.GivenBack());
    return true;
  }

  /** Timeouts scheduled: one per job running under a timeout (a finished job's is removed). */
  public int timeoutsPending() {
    return watchdog.getQueue().size();
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
      job.started(clock.instant());
      listeners.started(job.job());
      Outcome outcome = performWithMdc(job, plugin.get());
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

  /** The plugin's log lines carry the job: its id, plugin and queue in the MDC while it runs. */
  private Outcome performWithMdc(RunningJob job, TaskPlugin plugin) {
    MDC.put(MDC_JOB_ID, job.id().toString());
    MDC.put(MDC_PLUGIN, job.job().plugin());
    MDC.put(MDC_QUEUE, job.job().queue());
    // A child span of the submitter's trace, when OpenTelemetry is on the classpath; opened and
    // closed on this thread, so the plugin's own spans nest under it.
    JobSpans.Active span = JobSpans.start(job.job());
    Outcome outcome = null;
    try {
      outcome = perform(job, plugin);
      return outcome;
    } finally {
      span.end(outcome);
      MDC.remove(MDC_JOB_ID);
      MDC.remove(MDC_PLUGIN);
      MDC.remove(MDC_QUEUE);
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
    } catch (InvalidPayloadException invalid) {
      // A typed plugin's payload does not map: the same payload fails the same way, so no retry.
      return new Outcome.Failed(InvalidPayloadException.KIND, invalid.getMessage(), null, false);
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
    if (!job.decide(clock.instant())) {
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
    if (job.decide(clock.instant())) {
      Carry carry = CARRY.get();
      if (carry == null) {
        handOver(job, outcome);
        return;
      }
      carry.open = true;
      try {
        handOver(job, outcome);
      } finally {
        carry.open = false;
      }
    } else {
      LOG.info(
          "Job {} ({}): the plugin returned after its outcome was decided ({}); its late result"
              + " is dropped",
          job.id(),
          job.job().plugin(),
          job.cancelReason());
    }
  }

  /**
   * The outcome is decided: it becomes its write, and only the sink can end the job now, so its
   * failure is logged loudly. When not even a failure can be built, the job leaves (its lease is no
   * longer extended) and the rescuer takes it.
   */
  private void handOver(RunningJob job, Outcome outcome) {
    Outcomes.Write write = outcomes.prepare(job, outcome);
    if (write == null) {
      job.leave();
      return;
    }
    try {
      sink.accept(write);
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
  @Override
  public void stop(Duration within) {
    watchdog.shutdownNow();
    if (ownThreads != null) {
      ownThreads.shutdown();
    }
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
