package io.taskbroker.worker.producer;

import io.taskbroker.common.DatabaseException;
import io.taskbroker.common.Job;
import io.taskbroker.common.QueueLimits;
import io.taskbroker.common.QueueSettings;
import io.taskbroker.common.sql.QueueRepository;
import io.taskbroker.common.sql.WorkerRepository;
import io.taskbroker.worker.executor.ActiveJobs;
import io.taskbroker.worker.executor.JobExecutor;
import io.taskbroker.worker.executor.RunningJob;
import io.taskbroker.worker.internal.BackgroundLoop;
import io.taskbroker.worker.internal.JobListeners;
import io.taskbroker.worker.internal.Supervisor;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Claims jobs of one queue for this worker, at most as many as it has free slots, in one statement
 * per batch. Wakes on a NOTIFY, on a submit committed by a client of this JVM, on a freed slot
 * while work is known to wait, on a timer for the next scheduled job, or on a jittered poll (the
 * safety net when a notification is lost). Fetches again at once when a batch came back full.
 *
 * <p>A NOTIFY is a hint anyone who can connect may send, so NOTIFYs cannot multiply claims: once a
 * claim a NOTIFY asked for came back empty, the NOTIFYs of the next few milliseconds share one
 * claim at the end of that quiet window: 5 ms, doubling while such empty claims follow each other
 * within a window's length (a flood), up to 200 ms, so a flood costs at most five claims a second.
 * An idle producer still claims at once on the first NOTIFY; the cost is that a job whose NOTIFY
 * lands just after an empty claim waits for the window's end (during a flood, up to 200 ms). Local
 * submits, freed slots and reconnects are not hints and never wait.
 *
 * <p>The producer owns the jobs it claims and their slots: it hands each to the executor as a
 * {@link RunningJob} that carries its way back (the slot frees once, through {@link
 * RunningJob#freeSlot()}, and the job leaves the worker once, through {@link RunningJob#leave()}),
 * so nothing goes through the worker on the way.
 *
 * <p>While the queue's jobs finish fast, it also claims ahead: jobs beyond its slots wait in a
 * local buffer, and a freed slot takes the next one at once, on the freeing thread, without a
 * claim. The buffer holds what the slots would run in {@link #PREFETCH_MAX_RUN_NANOS} at the
 * queue's average run time, and at most {@code prefetch}: a millisecond job may have twenty per
 * slot waiting, a 20 ms one one per slot. Short jobs then cost a claim per buffer rather than per
 * few free slots, and no worker keeps more than about 20 ms of work from the others. A buffered job
 * is claimed in the table (status {@code running}, its lease extended by the heartbeat, a cancel
 * finds it) but not started; its timeout starts when it does. Jobs that take longer than {@link
 * #PREFETCH_MAX_RUN_NANOS} on average switch the buffer off, so a slow job never holds another back
 * for long that a free worker elsewhere could run; so does a rate or per-key limit on the queue. An
 * average is a guess about jobs not yet run: when the slots turn out slower than it said (short
 * jobs, then a burst of long ones), a buffered job that has waited {@code prefetchMaxWait} for a
 * slot goes back to pending with its attempt given back, for whichever worker has a slot free, and
 * the wait it saw switches the buffer off until short jobs bring the average down again. On stop
 * the buffer is released: its jobs leave the worker unstarted and the worker's hand-back returns
 * them to pending with their attempt refunded.
 *
 * <p>Queue settings ({@code taskbroker.queues}): the producer keeps its queue's row, read again on
 * a control notification ({@link #settingsChanged()}), after a reconnect, and before a claim once
 * it is a second old. A paused queue is not claimed from (the row is read again every second, so a
 * resume whose notification was lost still starts claiming within a second); a queue with limits is
 * claimed through {@code taskbroker.claim_limited}, which enforces them; any other through the
 * plain claim. Both claims check the row themselves, so stale settings never claim too much: at
 * worst an empty claim. A limited claim that came back short while runnable jobs wait (held back by
 * a limit another worker's finished job may lift) looks again after about {@value
 * #LIMIT_RETRY_MILLIS} ms.
 *
 * <p>Thread-safe. A {@link io.taskbroker.worker.internal.Service}: start and stop are idempotent;
 * stop before start is a no-op. {@link #claimOnce()} claims on the caller's thread instead (tests:
 * a worker moved by hand).
 */
public final class Producer extends BackgroundLoop {
  private static final Logger LOG = LoggerFactory.getLogger(Producer.class);
  private static final Duration MAX_ERROR_BACKOFF = Duration.ofSeconds(5);
  private static final long CLAIM_COOLDOWN_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
  // However long claims keep resuming, one looks from the head at least this often (a few index
  // pages per dead entry walked, a few milliseconds at worst, four times a second).
  private static final long HEAD_LOOK_MAX_NANOS = TimeUnit.MILLISECONDS.toNanos(250);
  private static final long NOTIFY_QUIET_MIN_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
  private static final long NOTIFY_QUIET_MAX_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
  // How old the queue's settings may be before a claim reads them again; also how often a paused
  // producer reads them: the bound on a resume whose notification was lost.
  private static final long SETTINGS_MAX_AGE_NANOS = TimeUnit.SECONDS.toNanos(1);
  static final long LIMIT_RETRY_MILLIS = 20;

  /**
   * Claiming ahead pays only while jobs are short: a buffered job waits for a running one to end.
   * Above this average run time (an exponential moving average over the last few dozen jobs) the
   * producer claims only into free slots; below it, its buffer holds about this long of the slots'
   * work.
   */
  static final long PREFETCH_MAX_RUN_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  /**
   * How long a held job waits for a slot unless told otherwise: five times the work the buffer is
   * sized for, so a job waits that long only when the queue's jobs run far slower than they did.
   */
  public static final Duration DEFAULT_PREFETCH_MAX_WAIT =
      Duration.ofNanos(5 * PREFETCH_MAX_RUN_NANOS);

  /**
   * What a producer claims and how.
   *
   * @param concurrency its slots: the most jobs of the queue it holds at once
   * @param plugins the plugin names to claim, or null for any
   * @param lease how long a claimed job stays ours without a heartbeat
   * @param pollInterval how often it looks without being woken (jittered)
   * @param maxBatch the most jobs one claim takes
   * @param prefetch the most claimed jobs held beyond the slots while jobs finish fast; 0 claims
   *     only into free slots
   * @param prefetchMaxWait how long a held job may wait for a slot before it goes back
   */
  public record Settings(
      String workerId,
      String queue,
      int concurrency,
      Collection<String> plugins,
      Duration lease,
      Duration pollInterval,
      int maxBatch,
      int prefetch,
      Duration prefetchMaxWait) {
    /** Without claiming ahead. */
    public Settings(
        String workerId,
        String queue,
        int concurrency,
        Collection<String> plugins,
        Duration lease,
        Duration pollInterval,
        int maxBatch) {
      this(
          workerId,
          queue,
          concurrency,
          plugins,
          lease,
          pollInterval,
          maxBatch,
          0,
          DEFAULT_PREFETCH_MAX_WAIT);
    }

    public Settings {
      if (workerId == null
          || queue == null
          || lease == null
          || pollInterval == null
          || prefetchMaxWait == null) {
        throw new IllegalArgumentException(
            "producer settings need a worker, queue, lease, poll, prefetch max wait");
      }
      if (concurrency < 1 || maxBatch < 1) {
        throw new IllegalArgumentException(
            "producer of "
                + queue
                + ": concurrency and batch must be positive, got "
                + concurrency
                + " and "
                + maxBatch);
      }
      if (prefetch < 0) {
        throw new IllegalArgumentException(
            "producer of " + queue + ": prefetch must be zero or positive, got " + prefetch);
      }
      plugins = plugins == null ? null : List.copyOf(plugins);
    }
  }

  private final String queue;
  private final int concurrency;
  private final String workerId;
  private final WorkerRepository repository;
  private final QueueRepository queues;
  private final Collection<String> plugins;
  private final Duration lease;
  private final Duration pollInterval;
  private final int maxBatch;
  private final int prefetch;
  private final long prefetchMaxWaitNanos;
  private final AtomicLong givenBack = new AtomicLong();
  private final ActiveJobs active;
  private final JobExecutor executor;
  private final JobListeners listeners;
  private final InstantSource clock;
  private final AtomicLong overReleases = new AtomicLong();

  private final ReentrantLock lock = new ReentrantLock();
  private final Condition wake = lock.newCondition();
  // Guarded by lock.
  private int inFlight;
  private boolean signalled;
  private boolean workLikely = true;
  private final AwaitedNotifies awaitedNotifies = new AwaitedNotifies();
  // Guarded by lock. A NOTIFY asked for a look (not yet taken by a claim); before
  // notifyQuietUntilNanos it waits, so a burst of NOTIFYs shares one claim.
  private boolean notifyPending;
  private long notifyQuietUntilNanos;
  private long notifyQuietNanos = NOTIFY_QUIET_MIN_NANOS;
  private long claims;
  // Guarded by lock. Claimed jobs waiting for a slot, oldest first; closed once stopping.
  private final ArrayDeque<Held> buffer = new ArrayDeque<>();
  private boolean closed;
  // Guarded by lock. Average run time of the queue's jobs (slot taken to slot freed); claims go
  // ahead only while it is short. Starts "unknown": no prefetch until jobs have been seen.
  private long averageRunNanos = Long.MAX_VALUE;
  // Guarded by lock. The queue's row as last read; stale: read it again before the next claim.
  private QueueSettings settings;
  private boolean settingsStale = true;
  private long settingsReadNanos;
  // Guarded by lock. The last job of the last claim while claims keep coming back full and nothing
  // new may sit before it in the claim index: the next claim starts its scan there, past the dead
  // entries of the jobs claimed so far (vacuum removes those, but the claim must not depend on
  // it). Null: the next claim looks from the head. Any sign of new work (a NOTIFY, a local
  // submit, a reconnect, the poll, a scheduled job's timer) sets it back to null.
  private Job resumeAfter;
  // Guarded by lock. How many times the next claim was told to look from the head: a claim that
  // saw it change while it ran must not resume either (the news may postdate its snapshot).
  private long headLooks;
  // Guarded by lock. When a claim last looked from the head: a delayed job that comes due before
  // the resume key is announced by nothing, so the head is looked at this often regardless.
  private long lastHeadLookNanos;

  /**
   * @param active the jobs the worker holds: a claimed job joins it, and leaves it when done
   * @param executor runs each claimed job
   * @param unit the supervised unit the producer's thread is: an Error on it stops the worker
   */
  public Producer(
      Settings settings,
      WorkerRepository repository,
      QueueRepository queues,
      ActiveJobs active,
      JobExecutor executor,
      JobListeners listeners,
      InstantSource clock,
      Supervisor.Unit unit) {
    super("producer-" + settings.queue(), unit);
    this.queue = settings.queue();
    this.concurrency = settings.concurrency();
    this.workerId = settings.workerId();
    this.repository = repository;
    this.queues = queues;
    this.settings = QueueSettings.unset(settings.queue());
    this.plugins = settings.plugins();
    this.lease = settings.lease();
    this.pollInterval = settings.pollInterval();
    this.maxBatch = settings.maxBatch();
    this.prefetch = settings.prefetch();
    this.prefetchMaxWaitNanos = settings.prefetchMaxWait().toNanos();
    this.active = active;
    this.executor = executor;
    this.listeners = listeners;
    this.clock = clock;
    this.notifyQuietUntilNanos = System.nanoTime() - NOTIFY_QUIET_MAX_NANOS;
  }

  public String queue() {
    return queue;
  }

  /** Wakes the loop so it sees it is stopping. Jobs already claimed are not touched. */
  @Override
  protected void wake() {
    lock.lock();
    try {
      wake.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * The queue's settings may have changed (a control notification, a reconnect): read them again
   * before the next claim, and look now (a resume, a raised limit).
   */
  public void settingsChanged() {
    lock.lock();
    try {
      settingsStale = true;
      signalWork();
    } finally {
      lock.unlock();
    }
  }

  /** The queue's settings as this producer last read them. */
  public QueueSettings settings() {
    lock.lock();
    try {
      return settings;
    } finally {
      lock.unlock();
    }
  }

  /** New work may be waiting (a reconnect): look now, or when a slot frees. */
  public void notifyWork() {
    lock.lock();
    try {
      // Settings changes sent meanwhile are gone too.
      settingsStale = true;
      // After a reconnect, notifications sent meanwhile are gone: none is awaited any more.
      awaitedNotifies.clear();
      signalWork();
    } finally {
      lock.unlock();
    }
  }

  /**
   * A client of this JVM committed jobs for this queue: look now, without waiting for the NOTIFY.
   * That NOTIFY is still sent; {@link #notified()} lets it pass without a second look.
   */
  public void localSubmit() {
    lock.lock();
    try {
      awaitedNotifies.localSubmit(System.nanoTime());
      signalWork();
    } finally {
      lock.unlock();
    }
  }

  /**
   * A NOTIFY for this queue arrived: look now, unless a local submit already announced it, or a
   * claim another NOTIFY asked for just came back empty (then look at the end of the quiet window,
   * once for every NOTIFY until then).
   */
  public void notified() {
    lock.lock();
    try {
      if (awaitedNotifies.arrived(System.nanoTime())) {
        return;
      }
      workLikely = true;
      notifyPending = true;
      lookFromHead();
      wake.signal();
    } finally {
      lock.unlock();
    }
  }

  /** How many claim statements this producer ran (tests: NOTIFY bursts cost a few). */
  public long claimCount() {
    lock.lock();
    try {
      return claims;
    } finally {
      lock.unlock();
    }
  }

  /**
   * A slot of this producer is free again; called once per claimed job, by {@link
   * RunningJob#freeSlot()}. The next buffered job, if any, takes the slot at once, on this thread.
   */
  private void slotFreed(SlotTimer timer) {
    Held next;
    lock.lock();
    try {
      if (!timer.hasSlot) {
        // A job that never had a slot (held in the buffer) is done: cancelled, or released.
        buffer.removeIf(held -> held.timer() == timer);
        return;
      }
      timer.hasSlot = false;
      inFlight--;
      if (inFlight < 0) {
        overReleases.incrementAndGet();
        LOG.error("Producer {}: released more slots than claimed; this is a bug", queue);
        inFlight = 0;
      }
      noteRunTime(System.nanoTime() - timer.takenNanos);
      next = closed ? null : buffer.poll();
      if (next != null) {
        inFlight++;
        next.timer().take();
      }
      // Only wake when work is known to wait; otherwise a finished job would cost a claim.
      if (workLikely) {
        signalled = true;
        wake.signal();
      }
    } finally {
      lock.unlock();
    }
    if (next != null) {
      executor.execute(next.job());
    }
  }

  /** Folds one job's run time into the average (weight 1/16). Call with the lock held. */
  private void noteRunTime(long nanos) {
    averageRunNanos =
        averageRunNanos == Long.MAX_VALUE
            ? nanos
            : averageRunNanos + (nanos - averageRunNanos) / 16;
  }

  /**
   * How many jobs may wait in the buffer now: what the slots would run in {@link
   * #PREFETCH_MAX_RUN_NANOS} at the average run time, at most {@code prefetch}; none while jobs are
   * slower than that or unknown. Call with the lock held.
   */
  private int bufferCapacity() {
    if (averageRunNanos > PREFETCH_MAX_RUN_NANOS || !mayClaimAhead(settings.limits())) {
      return 0;
    }
    long fit = concurrency * PREFETCH_MAX_RUN_NANOS / Math.max(1, averageRunNanos);
    return (int) Math.min(prefetch, fit);
  }

  /**
   * How many free places are worth a claim under load: a quarter of the slots plus half the buffer.
   * While the buffer holds jobs, a freed slot takes one at once, so waiting for more room idles
   * nothing and makes claims larger and fewer. Call with the lock held.
   */
  private int claimThreshold() {
    return Math.max(1, Math.min(maxBatch, concurrency / 4 + bufferCapacity() / 2));
  }

  /**
   * A held job counts as running, and was started as far as the limits know. Under a fleet-wide
   * concurrency limit that is still exact (psql sees no more running than the limit) and the wait
   * is short, so claiming ahead stays on. A rate limit counts starts at the claim, so held jobs
   * would start in bursts when slots free; a per-key limit would hold a key's only place while the
   * job waits: with either, the queue claims only into free slots.
   */
  private static boolean mayClaimAhead(QueueLimits limits) {
    return limits.rateLimit() == null && limits.keyConcurrency() == null;
  }

  /** The next claim scans the claim index from its head. Call with the lock held. */
  private void lookFromHead() {
    resumeAfter = null;
    headLooks++;
  }

  /** Work is likely waiting: look as soon as a slot is free. Call with the lock held. */
  private void signalWork() {
    workLikely = true;
    lookFromHead();
    signalled = true;
    wake.signal();
  }

  /** Slots freed beyond those claimed: always zero unless a slot was freed twice (a bug). */
  public long overReleases() {
    return overReleases.get();
  }

  public int inFlight() {
    lock.lock();
    try {
      return inFlight;
    } finally {
      lock.unlock();
    }
  }

  @Override
  protected void loop() {
    long nextPollNanos = System.nanoTime();
    long timerNanos = Long.MAX_VALUE;
    long batchDeadlineNanos = 0;
    int failures = 0;
    while (true) {
      giveBackOverdue();
      int free;
      boolean forNotify;
      Job after;
      long looksBefore;
      boolean overdue = false;
      lock.lock();
      try {
        // Sleep until there is a reason to claim and a free slot to claim into: the poll or
        // scheduled-job timer is due, or a signal (notification, freed slot with work waiting);
        // or until the oldest held job has waited its longest.
        while (isRunning()) {
          // Goes round at least once per poll interval, also while every slot is taken.
          unit().progress();
          long now = System.nanoTime();
          Held oldest = buffer.peek();
          if (oldest != null && now - oldest.sinceNanos() >= prefetchMaxWaitNanos) {
            overdue = true;
            break;
          }
          int slots = concurrency - inFlight + bufferCapacity() - buffer.size();
          boolean due = now >= nextPollNanos || now >= timerNanos;
          if (slots > 0 && due) {
            // The poll, or a scheduled job come due (its key may sit before the last one).
            lookFromHead();
            break;
          }
          long until = Math.min(nextPollNanos, timerNanos);
          if (oldest != null) {
            until = Math.min(until, oldest.sinceNanos() + prefetchMaxWaitNanos);
          }
          if (notifyPending && !signalled) {
            if (now - notifyQuietUntilNanos >= 0) {
              signalled = true;
            } else if (slots > 0) {
              until = Math.min(until, notifyQuietUntilNanos);
            }
          }
          if (slots > 0 && signalled) {
            // Under load, slots free one job at a time; claiming each alone would cost a
            // transaction per job. Claim once enough places are free, or shortly after the
            // first one freed, so a lone free slot still fills within milliseconds.
            if (slots >= claimThreshold()) {
              break;
            }
            if (batchDeadlineNanos == 0) {
              batchDeadlineNanos = now + CLAIM_COOLDOWN_NANOS;
            }
            if (now >= batchDeadlineNanos) {
              break;
            }
            until = Math.min(until, batchDeadlineNanos);
          }
          long waitNanos = Math.max(until - now, TimeUnit.MICROSECONDS.toNanos(100));
          try {
            wake.awaitNanos(waitNanos);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
          if (concurrency - inFlight + bufferCapacity() - buffer.size() <= 0
              && System.nanoTime() >= nextPollNanos) {
            // Full at poll time: nothing to do until a slot frees; look again a poll later.
            nextPollNanos = System.nanoTime() + jitteredPoll();
          }
        }
        if (!isRunning()) {
          return;
        }
        if (overdue) {
          // Given back at the top of the loop, outside the lock.
          continue;
        }
        signalled = false;
        batchDeadlineNanos = 0;
        free = concurrency - inFlight + bufferCapacity() - buffer.size();
        // This claim sees the jobs of every NOTIFY delivered so far (each was sent at a commit).
        forNotify = notifyPending;
        notifyPending = false;
        after = System.nanoTime() - lastHeadLookNanos < HEAD_LOOK_MAX_NANOS ? resumeAfter : null;
        if (after == null) {
          lastHeadLookNanos = System.nanoTime();
        }
        looksBefore = headLooks;
        claims++;
      } finally {
        lock.unlock();
      }

      QueueSettings current = currentSettings();
      if (current.paused()) {
        // Not a claim: read the row again in a second (or at once on a notification).
        lock.lock();
        try {
          claims--;
          signalled = false;
          notifyPending = false;
        } finally {
          lock.unlock();
        }
        nextPollNanos = System.nanoTime() + SETTINGS_MAX_AGE_NANOS;
        timerNanos = Long.MAX_VALUE;
        continue;
      }
      int limit = Math.min(free, maxBatch);
      List<Job> claimed;
      boolean heldBack = false;
      try {
        claimed = claimBatch(current, limit, after);
        // Short on a limited queue: a limit (this fleet's running jobs, the rate window) may be
        // what holds runnable jobs back; nothing would wake us when it lifts, so look again soon.
        heldBack = current.limited() && claimed.size() < limit && repository.runnableWaiting(queue);
        if (failures > 0) {
          LOG.info("Producer {}: claiming works again", queue);
        }
        failures = 0;
        unit().ok();
      } catch (DatabaseException e) {
        failures++;
        unit().failed(e);
        long backoff = Math.min(MAX_ERROR_BACKOFF.toMillis(), 50L << Math.min(failures, 8));
        if (failures == 1) {
          LOG.warn("Producer {}: claim failed ({}); retrying with backoff", queue, e.getMessage());
        }
        nextPollNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoff);
        continue;
      } catch (RuntimeException e) {
        failures++;
        unit().failed(e);
        LOG.error(
            "Producer {}: claim failed unexpectedly; retrying after the poll interval", queue, e);
        nextPollNanos = System.nanoTime() + jitteredPoll();
        continue;
      }

      lock.lock();
      try {
        quietAfter(forNotify, claimed.isEmpty());
        // A full batch means more is probably waiting: claim again as soon as a slot is free.
        workLikely = claimed.size() == limit;
        // Resume after this batch only if nothing asked for a look from the head meanwhile.
        resumeAfter =
            workLikely && !current.limited() && headLooks == looksBefore
                ? claimed.get(claimed.size() - 1)
                : null;
        if (workLikely) {
          signalled = true;
        }
      } finally {
        lock.unlock();
      }
      dispatch(claimed);
      nextPollNanos = System.nanoTime() + jitteredPoll();
      timerNanos =
          heldBack
              ? System.nanoTime() + limitRetryNanos()
              : claimed.isEmpty() ? nextScheduledNanos() : Long.MAX_VALUE;
    }
  }

  /**
   * The plain claim, or the limited one when the queue has limits. A plain claim that resumed after
   * {@code after} and came back short looks from the head for the rest at once: a job may sit
   * before that key (one another worker held locked as this producer passed it), and a short claim
   * must mean what it means without resuming, that nothing more is runnable now.
   */
  private List<Job> claimBatch(QueueSettings current, int limit, Job after) {
    if (current.limited()) {
      return repository.claimLimited(workerId, queue, plugins, limit, lease);
    }
    List<Job> claimed = repository.claim(workerId, queue, plugins, limit, lease, after);
    if (after == null || claimed.size() == limit) {
      return claimed;
    }
    List<Job> rest =
        repository.claim(workerId, queue, plugins, limit - claimed.size(), lease, null);
    if (rest.isEmpty()) {
      return claimed;
    }
    List<Job> all = new ArrayList<>(claimed.size() + rest.size());
    all.addAll(rest);
    all.addAll(claimed);
    return all;
  }

  /**
   * The queue's settings, read again when stale or a second old. A failed read keeps the last ones
   * (the claim checks the row itself) and tries again on the next claim.
   */
  private QueueSettings currentSettings() {
    long now = System.nanoTime();
    QueueSettings known;
    lock.lock();
    try {
      if (!settingsStale && now - settingsReadNanos < SETTINGS_MAX_AGE_NANOS) {
        return settings;
      }
      known = settings;
      settingsStale = false;
      settingsReadNanos = now;
    } finally {
      lock.unlock();
    }
    QueueSettings read;
    try {
      read = queues.get(queue).orElse(QueueSettings.unset(queue));
    } catch (RuntimeException e) {
      LOG.debug("Producer {}: could not read the queue's settings ({})", queue, e.getMessage());
      return known;
    }
    if (read.paused() != known.paused()) {
      LOG.info("Producer {}: queue {}", queue, read.paused() ? "paused" : "resumed");
    }
    lock.lock();
    try {
      settings = read;
    } finally {
      lock.unlock();
    }
    return read;
  }

  private static long limitRetryNanos() {
    long base = TimeUnit.MILLISECONDS.toNanos(LIMIT_RETRY_MILLIS);
    // ±25 %: producers held back by one limit do not all look at the same moment.
    return base - base / 4 + ThreadLocalRandom.current().nextLong(base / 2 + 1);
  }

  /**
   * The claimed jobs are ours: each joins the jobs the worker holds, with its way back (its slot,
   * its leaving), and goes to the executor when it has a slot, or waits in the buffer for one.
   */
  private void dispatch(List<Job> claimed) {
    List<Held> held = new ArrayList<>(claimed.size());
    for (Job job : claimed) {
      // The slot's clock starts when the job takes a slot (below, or when a buffered job is
      // handed one): the run time that decides the buffer's size excludes time spent waiting.
      SlotTimer timer = new SlotTimer(this::slotFreed);
      RunningJob running = new RunningJob(job, queue, timer, active::remove);
      active.add(running);
      listeners.claimed(job);
      held.add(new Held(running, timer, System.nanoTime()));
    }
    List<RunningJob> toRun = new ArrayList<>(held.size());
    List<Held> released = List.of();
    lock.lock();
    try {
      for (Held job : held) {
        if (inFlight < concurrency) {
          inFlight++;
          job.timer().take();
          toRun.add(job.job());
        } else {
          buffer.add(job);
        }
      }
      if (closed) {
        released = takeBuffer();
      }
    } finally {
      lock.unlock();
    }
    toRun.forEach(executor::execute);
    release(released);
  }

  /**
   * Gives back every held job that has waited {@code prefetchMaxWait} for a slot: the slots are
   * slower than the average said, and a worker with a free slot should run them. The wait the
   * oldest saw becomes the average at least, which switches the buffer off until short jobs bring
   * it down again, so the producer does not claim them (or others) straight back.
   */
  private void giveBackOverdue() {
    List<Held> overdue = new ArrayList<>();
    lock.lock();
    try {
      long now = System.nanoTime();
      Held oldest = buffer.peek();
      if (oldest == null || now - oldest.sinceNanos() < prefetchMaxWaitNanos) {
        return;
      }
      averageRunNanos = Math.max(averageRunNanos, now - oldest.sinceNanos());
      while (!buffer.isEmpty() && now - buffer.peek().sinceNanos() >= prefetchMaxWaitNanos) {
        overdue.add(buffer.poll());
      }
    } finally {
      lock.unlock();
    }
    LOG.debug(
        "Producer {}: {} job(s) held past {} ms without a slot go back for another worker",
        queue,
        overdue.size(),
        TimeUnit.NANOSECONDS.toMillis(prefetchMaxWaitNanos));
    for (Held held : overdue) {
      if (executor.giveBack(held.job())) {
        givenBack.incrementAndGet();
      }
    }
  }

  /** Held jobs given back because they waited too long for a slot, since the start (tests). */
  public long givenBackCount() {
    return givenBack.get();
  }

  /** Empties the buffer. Call with the lock held. */
  private List<Held> takeBuffer() {
    List<Held> taken = new ArrayList<>(buffer);
    buffer.clear();
    return taken;
  }

  /**
   * Buffered jobs that will not start here: they leave the worker unstarted, still running under it
   * in the table, where the worker's hand-back (or, should the process die, the rescuer) returns
   * them to pending.
   */
  private void release(List<Held> jobs) {
    for (Held held : jobs) {
      if (held.job().decide()) {
        held.job().leave();
      }
    }
  }

  /** No buffered job starts any more: the producer is stopping. */
  @Override
  protected void stopping(long deadlineNanos) {
    List<Held> released;
    lock.lock();
    try {
      closed = true;
      released = takeBuffer();
    } finally {
      lock.unlock();
    }
    if (!released.isEmpty()) {
      LOG.info(
          "Producer {}: stopping; {} claimed job(s) not yet started go back",
          queue,
          released.size());
    }
    release(released);
  }

  /** Jobs claimed and waiting for a slot (tests). */
  public int buffered() {
    lock.lock();
    try {
      return buffer.size();
    } finally {
      lock.unlock();
    }
  }

  /** A claimed job, its slot's timer, and when it joined the buffer ({@link System#nanoTime()}). */
  private record Held(RunningJob job, SlotTimer timer, long sinceNanos) {}

  /**
   * A job's way to give its slot back, which knows whether the job has a slot (a buffered job has
   * none yet) and since when. Fields guarded by the producer's lock.
   */
  private static final class SlotTimer implements Runnable {
    private final Consumer<SlotTimer> freed;
    private boolean hasSlot;
    private long takenNanos;

    SlotTimer(Consumer<SlotTimer> freed) {
      this.freed = freed;
    }

    /** The job takes a slot now. Call with the producer's lock held. */
    void take() {
      hasSlot = true;
      takenNanos = System.nanoTime();
    }

    @Override
    public void run() {
      freed.accept(this);
    }
  }

  /**
   * One claim now, on the caller's thread, into the free slots (tests: a worker moved by hand; the
   * producer's own thread must not run). Returns the jobs claimed and handed to the executor.
   *
   * @throws DatabaseException when the claim failed
   */
  public List<Job> claimOnce() {
    int free;
    lock.lock();
    try {
      free = concurrency - inFlight;
      claims++;
    } finally {
      lock.unlock();
    }
    if (free <= 0) {
      return List.of();
    }
    QueueSettings current = currentSettings();
    if (current.paused()) {
      return List.of();
    }
    List<Job> claimed = claimBatch(current, Math.min(free, maxBatch), null);
    dispatch(claimed);
    return claimed;
  }

  /**
   * After a claim: one a NOTIFY asked for that found nothing opens a quiet window for NOTIFYs,
   * twice as long as the last one when it ends within one window's length after that one (a flood
   * goes on); one that found work closes it. Call with the lock held.
   */
  private void quietAfter(boolean forNotify, boolean empty) {
    if (!empty) {
      notifyQuietNanos = NOTIFY_QUIET_MIN_NANOS;
      notifyQuietUntilNanos = System.nanoTime() - NOTIFY_QUIET_MAX_NANOS;
      return;
    }
    if (!forNotify) {
      return;
    }
    long now = System.nanoTime();
    boolean floodGoesOn = now - notifyQuietUntilNanos < notifyQuietNanos;
    notifyQuietNanos =
        floodGoesOn
            ? Math.min(notifyQuietNanos * 2, NOTIFY_QUIET_MAX_NANOS)
            : NOTIFY_QUIET_MIN_NANOS;
    notifyQuietUntilNanos = now + notifyQuietNanos;
  }

  /** When the next scheduled job of the queue becomes runnable, as a nanoTime; or never. */
  private long nextScheduledNanos() {
    try {
      Optional<Instant> next = repository.nextRunAt(queue);
      if (next.isEmpty()) {
        return Long.MAX_VALUE;
      }
      long millis = Math.max(0, Duration.between(clock.instant(), next.get()).toMillis());
      return System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis + 5);
    } catch (RuntimeException e) {
      return Long.MAX_VALUE;
    }
  }

  private long jitteredPoll() {
    long base = pollInterval.toNanos();
    // ±10 %: workers started together do not poll in lockstep.
    return base - base / 10 + ThreadLocalRandom.current().nextLong(base / 5 + 1);
  }
}
