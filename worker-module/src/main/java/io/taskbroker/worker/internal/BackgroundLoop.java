package io.taskbroker.worker.internal;

import java.time.Duration;

/**
 * A unit that is one thread running one loop (the producer, the completer): the lifecycle and the
 * supervision, written once. The thread runs {@link #loop()} under its {@link Supervisor.Unit}, so
 * an Error (or anything else) that ends the loop unasked is the unit's death and stops the worker
 * loudly, never silently. The loop goes round while {@link #isRunning()} and reports each round
 * through {@link #unit()}; {@link #stop(Duration)} clears the flag, calls {@link #wake()} so a loop
 * waiting on its own condition sees it, and joins the thread. Thread-safe.
 */
public abstract class BackgroundLoop implements Service {
  // A thread still busy past its deadline (a statement in flight) gets this much more.
  private static final long JOIN_GRACE_MILLIS = 1000;

  private final String name;
  private final Supervisor.Unit unit;
  private final Object lifecycle = new Object();
  private volatile boolean running;
  // Guarded by lifecycle.
  private Thread thread;
  private boolean stopped;

  protected BackgroundLoop(String name, Supervisor.Unit unit) {
    this.name = name;
    this.unit = unit;
  }

  @Override
  public final String name() {
    return name;
  }

  @Override
  public final void start() {
    synchronized (lifecycle) {
      if (thread != null || stopped) {
        return;
      }
      running = true;
      thread = new Thread(unit.supervise(this::loop), "taskbroker-" + name);
      thread.setDaemon(true);
      thread.start();
    }
  }

  @Override
  public final void stop(Duration within) {
    Thread toJoin;
    synchronized (lifecycle) {
      if (stopped) {
        return;
      }
      stopped = true;
      toJoin = thread;
      if (toJoin != null) {
        stopping(System.nanoTime() + within.toNanos());
        running = false;
      }
    }
    unit.stopped();
    if (toJoin == null) {
      return;
    }
    wake();
    try {
      toJoin.join(Math.max(1, within.toMillis() + JOIN_GRACE_MILLIS));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The loop; returns when {@link #isRunning()} turns false (or sooner, on interrupt). */
  protected abstract void loop();

  /** Called once by stop, before the flag clears: the loop must be done by this nanoTime. */
  protected void stopping(long deadlineNanos) {}

  /** Wakes a loop waiting on a condition of its own, after the running flag cleared. */
  protected void wake() {}

  protected final boolean isRunning() {
    return running;
  }

  /** The supervised unit the loop's thread is: report progress, ok and failures here. */
  protected final Supervisor.Unit unit() {
    return unit;
  }
}
