package io.taskbroker.api.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.taskbroker.api.testing.Notifications;
import io.taskbroker.common.Database;
import io.taskbroker.common.DatabaseConfig;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The one notifier of a Database: subscriptions at any time on one LISTEN connection, delivery off
 * the reading thread, gaps after a reconnect or an overflow. Each test has a Database of its own,
 * whose listener shows in pg_stat_activity as {@code <applicationName>-listener}.
 */
@WithPostgres
class PgNotifierTest {
  private static final Duration LISTEN_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration PROMPTLY = Duration.ofSeconds(1);

  private final TestDatabase db;
  private final String applicationName =
      "tb-notifier-" + UUID.randomUUID().toString().substring(0, 8);
  private Database database;
  private PgNotifier notifier;
  private Connection sender;

  PgNotifierTest(TestDatabase db) {
    this.db = db;
  }

  @BeforeEach
  void open() throws SQLException {
    database =
        Database.connect(
            DatabaseConfig.builder()
                .jdbcUrl(db.jdbcUrl())
                .user(db.user())
                .password(db.password().isEmpty() ? null : db.password())
                .poolSize(2)
                .applicationName(applicationName)
                .build());
    notifier = PgNotifier.of(database);
    sender = db.connect();
  }

  @AfterEach
  void close() throws SQLException {
    sender.close();
    database.close();
  }

  @Test
  void oneNotifierPerDatabaseInstance() {
    assertThat(PgNotifier.of(database)).isSameAs(notifier);
    try (Database other = Database.using(db.dataSource())) {
      assertThat(PgNotifier.of(other)).isNotSameAs(notifier);
    }
  }

  @Test
  void subscribingAfterStartReceivesNotifications() throws SQLException {
    Recorder first = new Recorder();
    PgNotifier.Subscription early = notifier.subscribe("tb_first", first);
    assertThat(early.awaitListening(LISTEN_TIMEOUT)).isTrue();
    assertThat(notifier.isConnected()).isTrue();

    // The connection is up and reading: this channel is LISTENed on it, not on a new one.
    Recorder second = new Recorder();
    PgNotifier.Subscription late = notifier.subscribe("tb_second", second);
    assertThat(late.awaitListening(LISTEN_TIMEOUT)).isTrue();
    Notifications.notify(sender, "tb_second", "hello");
    Notifications.notify(sender, "tb_first", "again");

    await().atMost(PROMPTLY).until(() -> second.payloads.contains("hello"));
    await().atMost(PROMPTLY).until(() -> first.payloads.contains("again"));
    assertThat(listenerConnections()).isEqualTo(1);
  }

  @Test
  void unsubscribeStopsDelivery() throws SQLException {
    Recorder staying = new Recorder();
    Recorder leaving = new Recorder();
    PgNotifier.Subscription stays = notifier.subscribe("tb_shared", staying);
    PgNotifier.Subscription leaves = notifier.subscribe("tb_shared", leaving);
    PgNotifier.Subscription alone = notifier.subscribe("tb_alone", leaving);
    assertThat(stays.awaitListening(LISTEN_TIMEOUT)).isTrue();
    assertThat(leaves.awaitListening(LISTEN_TIMEOUT)).isTrue();
    assertThat(alone.awaitListening(LISTEN_TIMEOUT)).isTrue();
    Notifications.notify(sender, "tb_shared", "before");
    await().atMost(PROMPTLY).until(() -> leaving.payloads.contains("before"));

    leaves.close();
    alone.close();
    assertThat(leaves.isListening()).isFalse();
    Notifications.notify(sender, "tb_shared", "after");
    Notifications.notify(sender, "tb_alone", "after-alone");
    Notifications.notify(sender, "tb_shared", "sentinel");

    // Notifications arrive in commit order: once the sentinel is in, "after" would be too.
    await().atMost(PROMPTLY).until(() -> staying.payloads.contains("sentinel"));
    assertThat(staying.payloads).containsExactly("before", "after", "sentinel");
    assertThat(leaving.payloads).containsExactly("before");

    // The last subscription gone, the connection is given back.
    stays.close();
    await().atMost(Duration.ofSeconds(5)).until(() -> listenerConnections() == 0);
    assertThat(notifier.isConnected()).isFalse();
  }

  @Test
  void aSlowSubscriberDoesNotDelayOthers() throws SQLException {
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch slowEntered = new CountDownLatch(1);
    Recorder slow =
        new Recorder() {
          @Override
          public void notified(String payload) {
            super.notified(payload);
            slowEntered.countDown();
            awaitQuietly(release);
          }
        };
    Recorder quick = new Recorder();
    PgNotifier.Subscription slowSubscription = notifier.subscribe("tb_events", slow);
    PgNotifier.Subscription quickSubscription = notifier.subscribe("tb_events", quick);
    PgNotifier.Subscription otherChannel = notifier.subscribe("tb_other", quick);
    assertThat(slowSubscription.awaitListening(LISTEN_TIMEOUT)).isTrue();
    assertThat(quickSubscription.awaitListening(LISTEN_TIMEOUT)).isTrue();
    assertThat(otherChannel.awaitListening(LISTEN_TIMEOUT)).isTrue();
    try {
      Notifications.notify(sender, "tb_events", "1");
      assertThat(awaitQuietly(slowEntered)).isTrue();

      // The slow subscriber is blocked inside its callback: the others hear everything promptly.
      Notifications.notify(sender, "tb_events", "2");
      Notifications.notify(sender, "tb_other", "3");
      await().atMost(PROMPTLY).until(() -> quick.payloads.size() == 3);
      // In order within a channel; the two subscriptions (two channels) deliver independently.
      assertThat(quick.payloads).containsExactlyInAnyOrder("1", "2", "3");
      assertThat(quick.payloads.indexOf("1")).isLessThan(quick.payloads.indexOf("2"));
      assertThat(quick.threads)
          .allMatch(name -> name.startsWith("taskbroker-notifier-") && name.contains("-dispatch-"));
      assertThat(slow.payloads).containsExactly("1");
    } finally {
      release.countDown();
    }
    // Released, the slow one gets what waited for it, in order.
    await().atMost(PROMPTLY).until(() -> slow.payloads.size() == 2);
    assertThat(slow.payloads).containsExactly("1", "2");
  }

  @Test
  void aSubscriberFarBehindIsToldItMissedSomeWhileTheOthersGetEverything() throws SQLException {
    CountDownLatch release = new CountDownLatch(1);
    CountDownLatch slowEntered = new CountDownLatch(1);
    Recorder slow =
        new Recorder() {
          @Override
          public void notified(String payload) {
            super.notified(payload);
            slowEntered.countDown();
            awaitQuietly(release);
          }
        };
    Recorder quick = new Recorder();
    PgNotifier.Subscription slowSubscription = notifier.subscribe("tb_flood", slow);
    PgNotifier.Subscription quickSubscription = notifier.subscribe("tb_flood", quick);
    assertThat(slowSubscription.awaitListening(LISTEN_TIMEOUT)).isTrue();
    assertThat(quickSubscription.awaitListening(LISTEN_TIMEOUT)).isTrue();
    Notifications.notify(sender, "tb_flood", "first");
    assertThat(awaitQuietly(slowEntered)).isTrue();

    // In rounds the quick subscriber keeps up with, while the slow one's backlog passes the bound.
    int round = 100;
    int flood = PgNotifier.MAILBOX + round;
    for (int from = 1; from <= flood; from += round) {
      try (Statement statement = sender.createStatement()) {
        statement.execute(
            "SELECT pg_notify('tb_flood', 'n' || g) FROM generate_series("
                + from
                + ", "
                + (from + round - 1)
                + ") g");
      }
      int expected = from + round;
      await().atMost(Duration.ofSeconds(5)).until(() -> quick.payloads.size() == expected);
    }
    Notifications.notify(sender, "tb_flood", "last");
    await().atMost(Duration.ofSeconds(5)).until(() -> quick.payloads.contains("last"));
    release.countDown();

    await().atMost(Duration.ofSeconds(5)).until(() -> slow.payloads.contains("last"));
    assertThat(quick.payloads).hasSize(flood + 2);
    assertThat(quick.gaps).isEmpty();
    // What it could not hold collapsed into one gap; it still gets what came after.
    assertThat(slow.gaps).containsExactly(PgNotifier.Gap.OVERFLOW);
    assertThat(slow.payloads.size()).isLessThanOrEqualTo(PgNotifier.MAILBOX + 2);
  }

  @Test
  void afterAReconnectEverySubscriptionIsListenedAgain() throws SQLException {
    Recorder first = new Recorder();
    Recorder second = new Recorder();
    PgNotifier.Subscription early = notifier.subscribe("tb_one", first);
    assertThat(early.awaitListening(LISTEN_TIMEOUT)).isTrue();
    // Subscribed while the connection is up, so only the re-LISTEN after the reconnect covers it.
    PgNotifier.Subscription late = notifier.subscribe("tb_two", second);
    assertThat(late.awaitListening(LISTEN_TIMEOUT)).isTrue();

    assertThat(terminateListener()).isEqualTo(1);

    // Each subscriber learns of the gap once the connection is back and listening again.
    await().atMost(Duration.ofSeconds(10)).until(() -> !first.gaps.isEmpty());
    await().atMost(Duration.ofSeconds(10)).until(() -> !second.gaps.isEmpty());
    assertThat(first.gaps).containsExactly(PgNotifier.Gap.RECONNECT);
    assertThat(second.gaps).containsExactly(PgNotifier.Gap.RECONNECT);
    assertThat(early.isListening()).isTrue();
    assertThat(late.isListening()).isTrue();
    Notifications.notify(sender, "tb_one", "a");
    Notifications.notify(sender, "tb_two", "b");

    await().atMost(PROMPTLY).until(() -> first.payloads.contains("a"));
    await().atMost(PROMPTLY).until(() -> second.payloads.contains("b"));
    assertThat(listenerConnections()).isEqualTo(1);
  }

  @Test
  void anErrorInOneSubscriberEndsItAloneAndIsReportedToIt() throws SQLException {
    List<Throwable> deaths = new CopyOnWriteArrayList<>();
    PgNotifier.Subscriber dying =
        new PgNotifier.Subscriber() {
          @Override
          public void notified(String payload) {
            throw new AssertionError("machinery failed on " + payload);
          }

          @Override
          public void died(Throwable error) {
            deaths.add(error);
          }
        };
    Recorder living = new Recorder();
    PgNotifier.Subscription dies = notifier.subscribe("tb_errors", dying);
    PgNotifier.Subscription lives = notifier.subscribe("tb_errors", living);
    assertThat(dies.awaitListening(LISTEN_TIMEOUT)).isTrue();
    assertThat(lives.awaitListening(LISTEN_TIMEOUT)).isTrue();

    Notifications.notify(sender, "tb_errors", "1");
    await().atMost(PROMPTLY).until(() -> deaths.size() == 1);
    assertThat(deaths.get(0)).hasMessage("machinery failed on 1");
    Notifications.notify(sender, "tb_errors", "2");

    await().atMost(PROMPTLY).until(() -> living.payloads.contains("2"));
    assertThat(dies.isListening()).isFalse();
    assertThat(notifier.subscriptionCount()).isEqualTo(1);
    assertThat(deaths).hasSize(1);
  }

  @Test
  void closingTheDatabaseEndsTheNotifier() {
    PgNotifier.Subscription subscription = notifier.subscribe("tb_closing", new Recorder());
    assertThat(subscription.awaitListening(LISTEN_TIMEOUT)).isTrue();

    database.close();

    assertThat(subscription.isListening()).isFalse();
    assertThat(notifier.isConnected()).isFalse();
    await().atMost(Duration.ofSeconds(5)).until(() -> listenerConnections() == 0);
  }

  private long listenerConnections() throws SQLException {
    return countSessions("SELECT count(*) FROM pg_stat_activity WHERE application_name = ?");
  }

  private long terminateListener() throws SQLException {
    return countSessions(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = ?");
  }

  private long countSessions(String sql) throws SQLException {
    try (PreparedStatement statement = sender.prepareStatement(sql)) {
      statement.setString(1, applicationName + "-listener");
      try (ResultSet rows = statement.executeQuery()) {
        rows.next();
        return rows.getLong(1);
      }
    }
  }

  private static boolean awaitQuietly(CountDownLatch latch) {
    try {
      return latch.await(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Records what it is told, and on which threads. */
  private static class Recorder implements PgNotifier.Subscriber {
    final List<String> payloads = new CopyOnWriteArrayList<>();
    final List<PgNotifier.Gap> gaps = new CopyOnWriteArrayList<>();
    final List<String> threads = new CopyOnWriteArrayList<>();

    @Override
    public void notified(String payload) {
      threads.add(Thread.currentThread().getName());
      payloads.add(payload);
    }

    @Override
    public void missed(PgNotifier.Gap gap) {
      gaps.add(gap);
    }
  }
}
