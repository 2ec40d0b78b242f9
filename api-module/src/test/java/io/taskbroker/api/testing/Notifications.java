package io.taskbroker.api.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/** LISTEN on a plain pgjdbc connection and count what arrives. */
public final class Notifications {
  private Notifications() {}

  public static void listen(Connection listener, String channel) throws SQLException {
    try (Statement statement = listener.createStatement()) {
      statement.execute("LISTEN " + channel);
    }
  }

  /** Sends a notification in a transaction of its own (autocommit connection). */
  public static void notify(Connection sender, String channel, String payload) throws SQLException {
    try (Statement statement = sender.createStatement()) {
      statement.execute("SELECT pg_notify('" + channel + "', '" + payload + "')");
    }
  }

  /**
   * The payloads received, in order, up to and including {@code last}. Notifications reach a
   * listener in commit order, so a sentinel sent after a transaction proves that everything the
   * transaction sent has arrived. Fails after 10 s.
   */
  public static List<String> receiveUntil(Connection listener, String last) throws SQLException {
    PGConnection pg = listener.unwrap(PGConnection.class);
    List<String> payloads = new ArrayList<>();
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!payloads.contains(last)) {
      long remainingMillis = (deadline - System.nanoTime()) / 1_000_000;
      assertThat(remainingMillis).as("'%s' never arrived; got %s", last, payloads).isPositive();
      PGNotification[] batch = pg.getNotifications((int) remainingMillis);
      if (batch != null) {
        for (PGNotification notification : batch) {
          payloads.add(notification.getParameter());
        }
      }
    }
    return payloads;
  }
}
