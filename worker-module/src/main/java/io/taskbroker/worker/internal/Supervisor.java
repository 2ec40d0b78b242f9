package io.taskbroker.worker.internal;

import io.taskbroker.worker.UnitHealth;
import io.taskbroker.worker.WorkerHealth;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches a worker's background units. Each unit reports every round of its loop ({@link
 * Unit#progress()}), whether the round worked ({@link Unit#ok()}, {@link Unit#failed}), and dies
 * through {@link Unit#died} when an {@code Error} reaches the top of its thread: the first death
 * calls the worker's fatal handler once, which stops the worker loudly; it never stays half-alive.
 * {@link #watch()} (the watchdog) logs a unit whose loop has not gone round within its bound.
 *
 * <p>Thread-safe.
 */
public final class Supervisor {
  private static final Logger LOG = LoggerFactory.getLogger(Supervisor.class);

  private record Death(String unit, Throwable error) {}

  private final String workerId;
  private final InstantSource clock;
  private final BiConsumer<String, Throwable> onFatal;
  private final Map<String, Unit> units = new ConcurrentSkipListMap<>();
  private final Map<String, Boolean> reportedStalled = new ConcurrentHashMap<>();
  private final Map<String, UnitHealth.State> lastStates = new ConcurrentHashMap<>();
  private volatile BiConsumer<String, String> healthListener = (unit, state) -> {};
  private volatile Death death;
  private volatile boolean stopped;

  /**
   * @param onFatal called once, on the dying unit's thread, with the unit and the Error; must not
   *     block (start the stop on a thread of its own)
   */
  public Supervisor(String workerId, InstantSource clock, BiConsumer<String, Throwable> onFatal) {
    this.workerId = workerId;
    this.clock = clock;
    this.onFatal = onFatal;
  }

  /**
   * A supervisor for a unit run on its own (tests, tools): a death is logged at ERROR and the unit
   * reports itself failed, with no worker to stop.
   */
  public static Supervisor alone(String owner) {
    return new Supervisor(owner, InstantSource.system(), (unit, error) -> {});
  }

  /**
   * The unit of that name, created on first use.
   *
   * @param stallBound how long its loop may go without a round before the watchdog reports it
   */
  public Unit unit(String name, Duration stallBound) {
    return units.computeIfAbsent(name, key -> new Unit(key, stallBound));
  }

  /**
   * Told (unit, state) when a unit's state changes: at each {@link #watch()} round, and at once
   * when a unit dies. Must not throw (wrap it as {@link JobListeners} does).
   */
  public void onHealthChange(BiConsumer<String, String> listener) {
    this.healthListener = listener;
  }

  /** The unit of that name, if there is one. */
  public Optional<Unit> find(String name) {
    return Optional.ofNullable(units.get(name));
  }

  /** The worker has stopped: its units are no longer expected to make progress. */
  public void stopped() {
    stopped = true;
  }

  public boolean hasFailed() {
    return death != null;
  }

  public WorkerHealth health() {
    Instant now = clock.instant();
    List<UnitHealth> all = new ArrayList<>(units.size());
    boolean healthy = true;
    for (Unit unit : units.values()) {
      UnitHealth health = unit.health(now);
      all.add(health);
      healthy &= health.healthy();
    }
    Death dead = death;
    WorkerHealth.Status status;
    if (dead != null) {
      status = WorkerHealth.Status.FAILED;
    } else if (stopped) {
      status = WorkerHealth.Status.STOPPED;
    } else {
      status = healthy ? WorkerHealth.Status.HEALTHY : WorkerHealth.Status.UNHEALTHY;
    }
    return new WorkerHealth(
        status,
        all,
        Optional.ofNullable(dead).map(Death::unit),
        Optional.ofNullable(dead).map(Death::error));
  }

  /**
   * The watchdog's round: logs each unit that has stalled (once, until it goes round again, which
   * is logged too). Returns the health it judged by.
   */
  public WorkerHealth watch() {
    WorkerHealth health = health();
    for (UnitHealth unit : health.units()) {
      changed(unit.name(), unit.state());
      boolean stalled = unit.state() == UnitHealth.State.STALLED;
      Boolean before = reportedStalled.put(unit.name(), stalled);
      if (stalled && !Boolean.TRUE.equals(before)) {
        LOG.error(
            "Worker {}: unit {} has made no progress since {} (bound {}); it is blocked or lost,"
                + " and the worker reports itself unhealthy until it goes round again",
            workerId,
            unit.name(),
            unit.lastProgressAt(),
            units.get(unit.name()).stallBound);
      } else if (!stalled && Boolean.TRUE.equals(before)) {
        LOG.info("Worker {}: unit {} makes progress again", workerId, unit.name());
      }
    }
    return health;
  }

  private void changed(String unit, UnitHealth.State state) {
    UnitHealth.State before = lastStates.put(unit, state);
    if (before != state && (before != null || state != UnitHealth.State.OK)) {
      healthListener.accept(unit, state.dbValue());
    }
  }

  private void fatal(Unit unit, Throwable error) {
    synchronized (this) {
      if (death != null) {
        LOG.error(
            "Worker {}: unit {} died too ({}) while the worker was stopping",
            workerId,
            unit.name,
            error.toString());
        return;
      }
      death = new Death(unit.name, error);
    }
    LOG.error(
        "Worker {}: unit {} died of {}; the worker stops now: no new claims, and its unfinished"
            + " jobs leave it with their attempt spent",
        workerId,
        unit.name,
        error.toString(),
        error);
    onFatal.accept(unit.name, error);
  }

  /** One background unit. Thread-safe. */
  public final class Unit {
    private final String name;
    private final Duration stallBound;
    private volatile Instant lastProgressAt;
    private volatile int consecutiveFailures;
    private volatile String lastError;
    private volatile boolean dead;
    private volatile boolean unitStopped;
    private volatile Error injected;

    private Unit(String name, Duration stallBound) {
      this.name = name;
      this.stallBound = stallBound;
      this.lastProgressAt = clock.instant();
    }

    public String name() {
      return name;
    }

    /**
     * The unit's loop went round. Called on the unit's own thread, so an injected fault ({@link
     * #injectFault}) is thrown there.
     */
    public void progress() {
      lastProgressAt = clock.instant();
      Error fault = injected;
      if (fault != null) {
        injected = null;
        throw fault;
      }
    }

    /** The last run of the unit's body worked. */
    public void ok() {
      consecutiveFailures = 0;
    }

    /** The last run of the unit's body failed; the unit goes on. */
    public void failed(Exception error) {
      consecutiveFailures++;
      lastError = error.toString();
    }

    /** An Error reached the top of the unit's thread: the unit is gone; the worker stops. */
    public void died(Throwable error) {
      dead = true;
      lastError = error.toString();
      fatal(this, error);
      // After the stop has begun: nothing a listener does can keep the worker half-alive.
      changed(name, UnitHealth.State.FAILED);
    }

    /** The unit stopped as asked: it is no longer expected to go round. */
    public void stopped() {
      unitStopped = true;
    }

    /**
     * Wraps a unit's thread body: an Error (or any throwable) that ends it is a death, reported,
     * never silent.
     */
    public Runnable supervise(Runnable loop) {
      return () -> {
        try {
          loop.run();
        } catch (Throwable error) {
          // Whatever ends the loop unasked must stop the worker, not end this thread unseen.
          died(error);
        }
      };
    }

    /**
     * Test hook: the unit's thread throws {@code error} at its next {@link #progress()}, as if its
     * own machinery had failed there (an OutOfMemoryError, a StackOverflowError).
     */
    public void injectFault(Error error) {
      injected = error;
    }

    UnitHealth health(Instant now) {
      UnitHealth.State state;
      Instant last = lastProgressAt;
      if (dead) {
        state = UnitHealth.State.FAILED;
      } else if (unitStopped || stopped) {
        state = UnitHealth.State.STOPPED;
      } else if (last != null && Duration.between(last, now).compareTo(stallBound) > 0) {
        state = UnitHealth.State.STALLED;
      } else if (consecutiveFailures >= UnitHealth.FAILING_AFTER) {
        state = UnitHealth.State.FAILING;
      } else {
        state = UnitHealth.State.OK;
      }
      return new UnitHealth(name, state, last, consecutiveFailures, lastError);
    }
  }
}
