package io.taskbroker.api.internal;

import io.taskbroker.common.Database;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one LISTEN connection of a {@link Database} in this JVM ({@link #of}), shared by every client
 * (await), job tracker and worker on that Database. Subscriptions come and go at any time; each
 * LISTEN and UNLISTEN is issued on the live connection.
 *
 * <p><b>Why it hangs on the Database.</b> It is kept in the Database's {@link Database#attachment
 * attachment slot}: one per Database instance (never per URL string, so two Databases in one JVM,
 * even on one URL, keep apart), and closed with it, so no thread or connection outlives the
 * Database. Within that, the connection and its reading thread live only while someone subscribes:
 * the last {@link Subscription#close()} closes them, the next {@link #subscribe} opens them again
 * (so a Database on an application's pool gives its connection back when nobody listens).
 *
 * <p><b>Threads.</b> One reading thread owns the connection: it LISTENs and UNLISTENs as
 * subscriptions change, reads, and puts each notification into the mailbox of every subscription of
 * its channel. It never runs a subscriber. Each subscription's mailbox is drained, in arrival order
 * and one event at a time, on a dispatch thread of a pool that grows with the subscriptions busy at
 * once: a subscriber that blocks holds up itself, never the reading or another subscriber. Every
 * thread of a notifier is named {@code taskbroker-notifier-...}.
 *
 * <p><b>Gaps.</b> A subscriber is told {@link Subscriber#missed} when notifications may have been
 * lost, so that it re-checks state rather than trusting the stream: after a reconnect ({@link
 * Gap#RECONNECT}: everything subscribed is listened again first; what was sent meanwhile is gone)
 * and when it falls more than {@value #MAILBOX} notifications behind ({@link Gap#OVERFLOW}: its
 * queued notifications are dropped and replaced by the gap, which coalesces them; memory stays
 * bounded and reading goes on).
 *
 * <p><b>Errors.</b> An exception in a subscriber is logged and the subscriber keeps receiving. An
 * {@code Error} in a subscriber ends that subscription alone and is reported to it ({@link
 * Subscriber#died}). An {@code Error} on the reading thread is reported to every subscription (a
 * worker stops on it: never half-alive) and logged; a new reading thread takes over after a pause,
 * and tells the subscriptions left a {@link Gap#RECONNECT}. Polling still finds everything
 * meanwhile.
 *
 * <p>Thread-safe.
 */
public final class PgNotifier implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PgNotifier.class);
  // pgjdbc holds the connection's lock while it waits for a notification, so the LISTEN of a new
  // subscription waits for the current wait to end: short waits keep subscribe prompt. A wait that
  // times out costs no round trip, only a socket timeout.
  private static final Duration RECEIVE_SLICE = Duration.ofMillis(50);
  // Waiting for notifications does not notice a silently dead socket; a round trip after this
  // much quiet does.
  private static final Duration VALIDATE_AFTER = Duration.ofMillis(500);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

  /** How many undelivered events a subscription holds before they collapse into one gap. */
  public static final int MAILBOX = 1_000;

  private static final AtomicInteger NOTIFIERS = new AtomicInteger();

  /** Why notifications may have been missed. */
  public enum Gap {
    /** The connection dropped and came back (or a new reading thread took over). */
    RECONNECT,
    /** The subscriber fell {@value PgNotifier#MAILBOX} notifications behind; they were dropped. */
    OVERFLOW
  }

  /**
   * What a subscription is told, on a dispatch thread of the notifier, one call at a time and in
   * order. Must not assume it runs on any particular thread.
   */
  public interface Subscriber {
    /** A notification on the subscribed channel. */
    void notified(String payload);

    /** Notifications may have been missed: re-check whatever they would have told. */
    default void missed(Gap gap) {}

    /**
     * An Error ended a notifier thread serving this subscription: this subscriber's own call (the
     * subscription has ended), or the reading thread (a new one takes over after a pause).
     */
    default void died(Throwable error) {}
  }

  private final Database database;
  private final String name;
  private final Object lock = new Object();
  // Structure changed under lock; read without it by the reading thread.
  private final Map<String, List<Subscription>> channels = new ConcurrentHashMap<>();
  // Set whenever the subscribed channels change; the reading thread reconciles LISTEN with them.
  private final AtomicBoolean changed = new AtomicBoolean();
  private final ThreadPoolExecutor dispatch;
  private final AtomicInteger dispatchThreads = new AtomicInteger();
  // Guarded by lock.
  private Reader reader;
  private int subscriptionCount;
  private boolean closed;

  private PgNotifier(Database database) {
    this.database = database;
    this.name = "taskbroker-notifier-" + NOTIFIERS.incrementAndGet();
    // At most one task per subscription runs at a time, so the pool is bounded by the
    // subscriptions; a thread left idle for 30 s ends.
    this.dispatch =
        new ThreadPoolExecutor(
            0,
            Integer.MAX_VALUE,
            30,
            TimeUnit.SECONDS,
            new SynchronousQueue<>(),
            runnable -> {
              Thread thread =
                  new Thread(runnable, name + "-dispatch-" + dispatchThreads.incrementAndGet());
              thread.setDaemon(true);
              return thread;
            });
  }

  /**
   * The notifier of this Database, created on first use and closed with the Database.
   *
   * @throws IllegalStateException when the Database is closed
   */
  public static PgNotifier of(Database database) {
    return database.attachment(PgNotifier.class, () -> new PgNotifier(database));
  }

  /**
   * Subscribes to {@code channel} from now on: the channel is listened on the live connection
   * (opened now if nobody listened), and {@link Subscription#awaitListening} says when. Close the
   * subscription to stop.
   *
   * @throws IllegalStateException when the Database is closed
   */
  public Subscription subscribe(String channel, Subscriber subscriber) {
    Subscription subscription =
        new Subscription(
            Objects.requireNonNull(channel, "channel"),
            Objects.requireNonNull(subscriber, "subscriber"));
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("the notifier's Database is closed");
      }
      channels.computeIfAbsent(channel, key -> new CopyOnWriteArrayList<>()).add(subscription);
      subscriptionCount++;
      changed.set(true);
      if (reader == null) {
        reader = new Reader(0, false);
        reader.start();
      }
    }
    return subscription;
  }

  /** Whether the LISTEN connection is up now. */
  public boolean isConnected() {
    synchronized (lock) {
      return reader != null && reader.connected;
    }
  }

  /** Test hook: the subscriptions open now. */
  public int subscriptionCount() {
    synchronized (lock) {
      return subscriptionCount;
    }
  }

  /** Called by the Database's close: ends the connection, the threads and every subscription. */
  @Override
  public void close() {
    Reader toStop;
    List<Subscription> all;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      toStop = reader;
      reader = null;
      all = allSubscriptions();
      channels.clear();
      subscriptionCount = 0;
    }
    if (toStop != null) {
      toStop.stop();
    }
    all.forEach(Subscription::ended);
    dispatch.shutdownNow();
  }

  private void unsubscribe(Subscription subscription) {
    Reader toStop = null;
    synchronized (lock) {
      List<Subscription> subscribed = channels.get(subscription.channel);
      if (subscribed == null || !subscribed.remove(subscription)) {
        return;
      }
      if (subscribed.isEmpty()) {
        channels.remove(subscription.channel);
      }
      subscriptionCount--;
      changed.set(true);
      if (subscriptionCount == 0 && reader != null) {
        // Nobody listens: give the connection back rather than hold it for nothing.
        toStop = reader;
        reader = null;
      }
    }
    subscription.ended();
    if (toStop != null) {
      toStop.stop();
    }
  }

  // Under lock.
  private List<Subscription> allSubscriptions() {
    List<Subscription> all = new ArrayList<>();
    channels.values().forEach(all::addAll);
    return all;
  }

  private List<Subscription> snapshotSubscriptions() {
    synchronized (lock) {
      return allSubscriptions();
    }
  }

  /** The reading thread died of an Error: tell everyone, and let a new one take over. */
  private void readerDied(Reader dead, Throwable error) {
    List<Subscription> told;
    boolean replaced = false;
    synchronized (lock) {
      told = allSubscriptions();
      if (reader == dead) {
        if (!closed && subscriptionCount > 0) {
          reader = new Reader(MAX_BACKOFF.toMillis(), true);
          reader.start();
          replaced = true;
        } else {
          reader = null;
        }
      }
    }
    LOG.error(
        "Notifier {}: its reading thread died of {}; {} subscription(s) told,{} notifications"
            + " stop meanwhile (polling still finds work)",
        name,
        error,
        told.size(),
        replaced ? " a new reading thread connects in " + MAX_BACKOFF + ";" : "",
        error);
    told.forEach(subscription -> subscription.post(error));
  }

  /** One subscription to one channel. Closing it is idempotent. Thread-safe. */
  public final class Subscription implements AutoCloseable {
    private final String channel;
    private final Subscriber subscriber;
    private final CountDownLatch firstListen = new CountDownLatch(1);
    private volatile boolean listening;
    // Guarded by this: payloads (String), gaps (Gap) and deaths (Throwable), in arrival order.
    private final ArrayDeque<Object> mailbox = new ArrayDeque<>();
    private boolean draining;
    private boolean ended;
    private boolean overflowReported;

    private Subscription(String channel, Subscriber subscriber) {
      this.channel = channel;
      this.subscriber = subscriber;
    }

    public String channel() {
      return channel;
    }

    /**
     * Waits until the channel is listened for this subscription for the first time: a notification
     * sent after this returned true reaches the subscriber, or a gap tells it it may have missed
     * some.
     *
     * @return whether it is listened by then
     */
    public boolean awaitListening(Duration timeout) {
      try {
        return firstListen.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }

    /** Whether the channel is listened for this subscription on a live connection now. */
    public boolean isListening() {
      return listening;
    }

    /**
     * Stops delivery: once this returns, nothing more is queued for the subscriber and at most the
     * one call already under way (on a dispatch thread) completes. Idempotent.
     */
    @Override
    public void close() {
      unsubscribe(this);
    }

    private void listened() {
      synchronized (this) {
        // A subscription closed after the reading thread's snapshot must not look listened.
        if (ended) {
          return;
        }
        listening = true;
      }
      firstListen.countDown();
    }

    private void unlistened() {
      listening = false;
    }

    private void ended() {
      synchronized (this) {
        ended = true;
        listening = false;
        mailbox.clear();
      }
    }

    /** Queues an event; never blocks (this is the reading thread). */
    private void post(Object event) {
      boolean overflowed = false;
      boolean start;
      synchronized (this) {
        if (ended) {
          return;
        }
        // A death always gets through: it must not be collapsed into a gap.
        if (mailbox.size() >= MAILBOX && !(event instanceof Throwable)) {
          // A gap tells the subscriber to re-check, which covers every notification dropped here.
          mailbox.clear();
          mailbox.add(Gap.OVERFLOW);
          overflowed = !overflowReported;
          overflowReported = true;
        } else {
          mailbox.add(event);
        }
        start = !draining;
        draining = true;
      }
      if (overflowed) {
        LOG.warn(
            "Notifier {}: a subscriber of {} fell {} notifications behind; they are dropped and it"
                + " re-checks instead",
            name,
            channel,
            MAILBOX);
      }
      if (start) {
        try {
          dispatch.execute(this::drain);
        } catch (RejectedExecutionException e) {
          // The notifier is closed: nothing more is delivered.
          synchronized (this) {
            draining = false;
          }
        }
      }
    }

    private void drain() {
      while (true) {
        Object event;
        synchronized (this) {
          event = ended ? null : mailbox.poll();
          if (event == null) {
            draining = false;
            return;
          }
          if (event == Gap.OVERFLOW) {
            overflowReported = false;
          }
        }
        if (!deliver(event)) {
          return;
        }
      }
    }

    /** Returns false when the subscriber died of it. */
    private boolean deliver(Object event) {
      try {
        if (event instanceof String payload) {
          subscriber.notified(payload);
        } else if (event instanceof Gap gap) {
          subscriber.missed(gap);
        } else {
          subscriber.died((Throwable) event);
        }
        return true;
      } catch (RuntimeException e) {
        LOG.error("Notifier {}: a subscriber of {} failed; it goes on receiving", name, channel, e);
        return true;
      } catch (Error error) {
        LOG.error(
            "Notifier {}: a subscriber of {} died of {}; it receives no more notifications",
            name,
            channel,
            error,
            error);
        synchronized (this) {
          draining = false;
        }
        unsubscribe(this);
        if (!(event instanceof Throwable)) {
          try {
            subscriber.died(error);
          } catch (RuntimeException | Error again) {
            LOG.error("Notifier {}: a subscriber of {} failed on its death", name, channel, again);
          }
        }
        return false;
      }
    }
  }

  /** One reading thread and the connection it owns; a new one after a stop or a death. */
  private final class Reader implements Runnable {
    private final Thread thread;
    private final long initialDelayMillis;
    private final boolean resumed;
    private volatile boolean running = true;
    private volatile boolean connected;
    // Confined to the thread.
    private Connection connection;
    private final Set<String> listened = new HashSet<>();
    private final List<Subscription> marked = new ArrayList<>();

    /**
     * @param resumed whether it takes over from a reading thread that died: then its first connect
     *     is a reconnect, and subscribers are told
     */
    Reader(long initialDelayMillis, boolean resumed) {
      this.initialDelayMillis = initialDelayMillis;
      this.resumed = resumed;
      this.thread = new Thread(this, name);
      thread.setDaemon(true);
    }

    void start() {
      thread.start();
    }

    /** Ends the thread and its connection; waits briefly unless called on the thread itself. */
    void stop() {
      running = false;
      if (Thread.currentThread() == thread) {
        return;
      }
      try {
        thread.join(TimeUnit.SECONDS.toMillis(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    @Override
    public void run() {
      Throwable death = null;
      try {
        pause(initialDelayMillis);
        readWhileRunning();
      } catch (Throwable error) {
        // The loop recovers from exceptions; an Error ends it, and must not end it unseen.
        death = error;
      } finally {
        connectionLost();
      }
      if (death != null) {
        readerDied(this, death);
      }
    }

    private void readWhileRunning() {
      long failures = 0;
      boolean everConnected = resumed;
      while (running) {
        try {
          connection = database.openDedicatedConnection();
          connected = true;
          listened.clear();
          reconcile(true);
          if (everConnected) {
            LOG.info("Notifier {} reconnected and listening again; subscribers rescan", name);
            for (Subscription subscription : snapshotSubscriptions()) {
              subscription.post(Gap.RECONNECT);
            }
          }
          everConnected = true;
          failures = 0;
          receiveUntilBroken();
        } catch (SQLException | RuntimeException e) {
          connectionLost();
          if (!running) {
            return;
          }
          failures++;
          long backoff = backoffMillis(failures);
          if (failures == 1) {
            LOG.warn(
                "Notifier {} lost its LISTEN connection ({}); reconnecting in {} ms, polling"
                    + " covers the gap",
                name,
                e.getMessage(),
                backoff);
          } else {
            LOG.debug(
                "Notifier {} reconnect attempt {} failed: {}", name, failures, e.getMessage());
          }
          pause(backoff);
        }
      }
    }

    private void receiveUntilBroken() throws SQLException {
      PGConnection pg = connection.unwrap(PGConnection.class);
      long quietSince = System.nanoTime();
      while (running) {
        reconcile(false);
        // Blocks up to RECEIVE_SLICE; throws when the connection is broken, which is how a
        // killed backend or a server restart is noticed.
        PGNotification[] notifications = pg.getNotifications((int) RECEIVE_SLICE.toMillis());
        long now = System.nanoTime();
        if (notifications == null || notifications.length == 0) {
          if (now - quietSince >= VALIDATE_AFTER.toNanos()) {
            if (!connection.isValid(2)) {
              throw new SQLException("LISTEN connection is no longer valid", "08006");
            }
            quietSince = System.nanoTime();
          }
          continue;
        }
        quietSince = now;
        for (PGNotification notification : notifications) {
          List<Subscription> targets = channels.get(notification.getName());
          if (targets != null) {
            String payload = notification.getParameter();
            targets.forEach(target -> target.post(payload));
          }
        }
      }
    }

    /**
     * LISTENs to every channel someone subscribes to and UNLISTENs the others; then the
     * subscriptions seen here count as listening. A subscription added after the snapshot set
     * {@code changed} again and is handled in the next round.
     */
    private void reconcile(boolean force) throws SQLException {
      if (!changed.getAndSet(false) && !force) {
        return;
      }
      Map<String, List<Subscription>> wanted = new LinkedHashMap<>();
      synchronized (lock) {
        channels.forEach((channel, subscribed) -> wanted.put(channel, List.copyOf(subscribed)));
      }
      try (Statement statement = connection.createStatement()) {
        for (String channel : wanted.keySet()) {
          if (!listened.contains(channel)) {
            statement.execute("LISTEN " + quoteIdentifier(channel));
            listened.add(channel);
          }
        }
        for (String channel : List.copyOf(listened)) {
          if (!wanted.containsKey(channel)) {
            statement.execute("UNLISTEN " + quoteIdentifier(channel));
            listened.remove(channel);
          }
        }
      }
      marked.clear();
      wanted.values().forEach(marked::addAll);
      marked.forEach(Subscription::listened);
    }

    private void connectionLost() {
      connected = false;
      marked.forEach(Subscription::unlistened);
      marked.clear();
      Connection current = connection;
      connection = null;
      if (current != null) {
        try {
          current.close();
        } catch (SQLException e) {
          LOG.debug("Notifier {}: closing the connection failed: {}", name, e.getMessage());
        }
      }
    }

    private void pause(long millis) {
      // Slices, so a stop is noticed within one.
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
      while (running) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return;
        }
        try {
          Thread.sleep(Math.min(TimeUnit.NANOSECONDS.toMillis(left) + 1, 50));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  private static long backoffMillis(long failures) {
    long base = Math.min(MAX_BACKOFF.toMillis(), 100L << Math.min(failures, 10));
    return base / 2 + ThreadLocalRandom.current().nextLong(base / 2 + 1);
  }

  private static String quoteIdentifier(String channel) {
    return "\"" + channel.replace("\"", "\"\"") + "\"";
  }
}
