package io.taskbroker.worker.internal;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A background duty run on its own thread every interval (jittered), whose body catches and logs: a
 * scheduled task that throws would otherwise never run again, silently (the executor keeps the
 * exception in a future nobody reads). A RuntimeException is logged and counted by the unit, and
 * the task runs again; an Error (OutOfMemoryError, StackOverflowError) kills the unit, which stops
 * the worker through its {@link Supervisor}: the task never ends unseen. A {@link Service}: start
 * and stop are idempotent; stop before start is a no-op. Thread-safe.
 */
public final class PeriodicTask implements Service {
  private static final Logger LOG = LoggerFactory.getLogger(PeriodicTask.class);

  private final String name;
  private final Duration interval;
  private final double jitter;
  private final Runnable body;
  private final Supervisor.Unit unit;
  private final Object lifecycle = new Object();
  private ScheduledExecutorService scheduler;
  private boolean stopped;
  private volatile boolean dead;
  // Confined to the task's thread.
  private int failuresInARow;

  /**
   * @param jitter the fraction of the interval to vary each wait by (0 for none)
   * @param unit the supervised unit this task is: its progress, failures and death
   */
  public PeriodicTask(
      String name, Duration interval, double jitter, Supervisor.Unit unit, Runnable body) {
    this.name = name;
    this.interval = interval;
    this.jitter = jitter;
    this.unit = unit;
    this.body = body;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void start() {
    synchronized (lifecycle) {
      if (scheduler != null || stopped) {
        return;
      }
      scheduler =
          Executors.newSingleThreadScheduledExecutor(
              runnable -> {
                Thread thread = new Thread(runnable, "taskbroker-" + name);
                thread.setDaemon(true);
                return thread;
              });
      schedule(nextDelayMillis());
    }
  }

  /** Runs the body now on the task's thread (e.g. after a reconnect), besides the schedule. */
  public void runSoon() {
    synchronized (lifecycle) {
      if (scheduler != null && !stopped) {
        scheduler.execute(this::runOnce);
      }
    }
  }

  /** Stops the schedule and waits for a run in progress to end, at most {@code within}. */
  @Override
  public void stop(Duration within) {
    ScheduledExecutorService toStop;
    synchronized (lifecycle) {
      if (stopped) {
        return;
      }
      stopped = true;
      toStop = scheduler;
    }
    unit.stopped();
    if (toStop != null) {
      toStop.shutdownNow();
      try {
        toStop.awaitTermination(within.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void schedule(long delayMillis) {
    scheduler.schedule(
        () -> {
          runOnce();
          synchronized (lifecycle) {
            if (!stopped && !dead) {
              schedule(nextDelayMillis());
            }
          }
        },
        delayMillis,
        TimeUnit.MILLISECONDS);
  }

  private void runOnce() {
    if (dead) {
      return;
    }
    try {
      unit.progress();
      body.run();
      unit.ok();
      if (failuresInARow > 0) {
        LOG.info("Background task {} works again after {} failed run(s)", name, failuresInARow);
        failuresInARow = 0;
      }
    } catch (RuntimeException e) {
      unit.failed(e);
      // Once per streak with the trace (a database outage would repeat it every run); the
      // worker's health shows the streak meanwhile.
      if (failuresInARow++ == 0) {
        LOG.error("Background task {} failed; it runs again in about {}", name, interval, e);
      } else {
        LOG.debug("Background task {} failed again ({})", name, e.toString());
      }
    } catch (Throwable e) {
      // An Error: the task is not rescheduled, and its unit's death stops the worker.
      dead = true;
      unit.died(e);
    }
  }

  private long nextDelayMillis() {
    long base = interval.toMillis();
    if (jitter <= 0) {
      return base;
    }
    long spread = (long) (base * jitter);
    return base - spread + ThreadLocalRandom.current().nextLong(2 * spread + 1);
  }
}
