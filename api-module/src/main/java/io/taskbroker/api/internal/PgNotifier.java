package io.taskbroker.api.internal;

import io.taskbroker.common.Database;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One dedicated LISTEN connection (outside the pool) and a thread that hands each notification to
 * the subscribers of its channel. When the connection drops it reconnects with backoff, LISTENs
 * again and tells every reconnect listener, because notifications sent while it was away are gone:
 * subscribers must rescan.
 *
 * <p>Thread-safe. {@link #start()} and {@link #stop()} are idempotent; stop before start is a
 * no-op. Subscriber callbacks run on the notifier thread and must be quick; an exception in one is
 * logged and does not reach the others.
 */
public final class PgNotifier implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PgNotifier.class);
  private static final Duration RECEIVE_WAIT = Duration.ofMillis(500);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(5);

  private final Database database;
  private final String name;
  private final Map<String, List<Consumer<String>>> subscribers = new ConcurrentHashMap<>();
  private final List<Runnable> reconnectListeners = new CopyOnWriteArrayList<>();
  private final List<Consumer<Throwable>> deathListeners = new CopyOnWriteArrayList<>();
  private final Object lifecycle = new Object();
  private volatile boolean running;
  private volatile boolean connected;
  private volatile Connection connection;
  private final CountDownLatch listening = new CountDownLatch(1);
  private Thread thread;

  public PgNotifier(Database database, String name) {
    this.database = database;
    this.name = name;
  }

  /** Subscribes to a channel. Must be called before {@link #start()}. */
  public void subscribe(String channel, Consumer<String> onPayload) {
    subscribers.computeIfAbsent(channel, key -> new CopyOnWriteArrayList<>()).add(onPayload);
  }

  /** Called after every reconnect (not the first connect), on the notifier thread. */
  public void onReconnect(Runnable listener) {
    reconnectListeners.add(listener);
  }

  /**
   * Called, on the notifier thread, when an Error (anything the loop does not recover from) ends
   * that thread; without a listener it is logged at ERROR. Must be called before {@link #start()}.
   */
  public void onDeath(Consumer<Throwable> listener) {
    deathListeners.add(listener);
  }

  public boolean isConnected() {
    return connected;
  }

  /**
   * Waits until the first connection is up and LISTENs on every subscribed channel. {@link
   * #start()} connects on the notifier thread; a caller that must not miss a notification sent
   * right after it subscribes (an awaiter, a completion callback) waits here first.
   *
   * @return whether the notifier has listened by then
   */
  public boolean awaitListening(Duration timeout) {
    try {
      return listening.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  public void start() {
    synchronized (lifecycle) {
      if (running || thread != null) {
        return;
      }
      running = true;
      thread = new Thread(this::supervisedRun, "taskbroker-notifier-" + name);
      thread.setDaemon(true);
      thread.start();
    }
  }

  /** Closes the connection and waits briefly for the thread to end. Idempotent. */
  public void stop() {
    Thread toJoin;
    synchronized (lifecycle) {
      if (!running) {
        return;
      }
      running = false;
      toJoin = thread;
    }
    closeQuietly();
    if (toJoin != null) {
      toJoin.interrupt();
      try {
        toJoin.join(TimeUnit.SECONDS.toMillis(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  @Override
  public void close() {
    stop();
  }

  /** The loop recovers from exceptions; an Error ends it, and must not end it unseen. */
  private void supervisedRun() {
    try {
      run();
    } catch (Throwable error) {
      connected = false;
      if (deathListeners.isEmpty()) {
        LOG.error("Notifier {} died; notifications stop (polling still finds work)", name, error);
      }
      for (Consumer<Throwable> listener : deathListeners) {
        listener.accept(error);
      }
    }
  }

  private void run() {
    long failures = 0;
    boolean everConnected = false;
    while (running) {
      try {
        connect();
        if (everConnected) {
          LOG.info("Notifier {} reconnected and listening again; subscribers rescan", name);
          for (Runnable listener : reconnectListeners) {
            safely(listener);
          }
        }
        everConnected = true;
        failures = 0;
        receiveUntilBroken();
      } catch (SQLException | RuntimeException e) {
        connected = false;
        closeQuietly();
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
          LOG.debug("Notifier {} reconnect attempt {} failed: {}", name, failures, e.getMessage());
        }
        sleep(backoff);
      }
    }
  }

  private void connect() throws SQLException {
    Connection opened = database.openDedicatedConnection();
    connection = opened;
    try (Statement statement = opened.createStatement()) {
      for (String channel : subscribers.keySet()) {
        statement.execute("LISTEN " + quoteIdentifier(channel));
      }
    }
    connected = true;
    listening.countDown();
  }

  private void receiveUntilBroken() throws SQLException {
    PGConnection pg = connection.unwrap(PGConnection.class);
    while (running) {
      // Blocks up to RECEIVE_WAIT; throws when the connection is broken, which is how a
      // killed backend or a server restart is noticed.
      PGNotification[] notifications = pg.getNotifications((int) RECEIVE_WAIT.toMillis());
      if (notifications == null) {
        // getNotifications with a timeout does not detect a silently dead socket on its own;
        // isValid sends a round trip once in a while.
        if (!connection.isValid(2)) {
          throw new SQLException("LISTEN connection is no longer valid", "08006");
        }
        continue;
      }
      for (PGNotification notification : notifications) {
        List<Consumer<String>> targets = subscribers.get(notification.getName());
        if (targets == null) {
          continue;
        }
        for (Consumer<String> target : targets) {
          safely(() -> target.accept(notification.getParameter()));
        }
      }
    }
  }

  private void closeQuietly() {
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

  private void safely(Runnable action) {
    try {
      action.run();
    } catch (RuntimeException e) {
      LOG.error("Notifier {}: a subscriber failed; the notifier goes on", name, e);
    }
  }

  private static long backoffMillis(long failures) {
    long base = Math.min(MAX_BACKOFF.toMillis(), 100L << Math.min(failures, 10));
    return base / 2 + ThreadLocalRandom.current().nextLong(base / 2 + 1);
  }

  private void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      if (running) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static String quoteIdentifier(String channel) {
    return "\"" + channel.replace("\"", "\"\"") + "\"";
  }
}
