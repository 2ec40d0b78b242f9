package io.taskbroker.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskbroker.api.spi.LocalWakeups;
import io.taskbroker.api.testing.TestClients;
import io.taskbroker.common.NewJob;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.jdbi.v3.core.Handle;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A submit committed in a transaction of the client's own wakes this JVM's workers of its queue at
 * once; a submit in the caller's transaction leaves it to the NOTIFY sent at that commit.
 */
@WithPostgres
class LocalWakeupsTest {
  private final TestDatabase db;
  private TaskBrokerClient client;
  private String queue;
  private final AtomicInteger wakes = new AtomicInteger();
  private LocalWakeups.Registration registration;

  LocalWakeupsTest(TestDatabase db) {
    this.db = db;
  }

  @BeforeEach
  void register() {
    client = TestClients.connect(db);
    queue = "wake-" + UUID.randomUUID();
    registration = LocalWakeups.of(client.database()).register(queue, wakes::incrementAndGet);
  }

  @AfterEach
  void close() {
    registration.close();
    client.close();
  }

  @Test
  void ownTransactionSubmitsWakeOncePerQueueAndCall() {
    client.submit(job(queue));
    client.submitAll(List.of(job(queue), job(queue), job("elsewhere")));

    assertThat(wakes).hasValue(2);
  }

  @Test
  void autoCommitConnectionWakesButCallersTransactionDoesNot() throws SQLException {
    try (Connection connection = db.connect()) {
      client.submit(connection, job(queue));
      assertThat(wakes).as("auto-commit: committed at once").hasValue(1);

      connection.setAutoCommit(false);
      client.submit(connection, job(queue));
      connection.commit();
      assertThat(wakes).as("caller's transaction: the NOTIFY wakes").hasValue(1);
    }
    try (Handle handle = client.database().jdbi().open()) {
      handle.useTransaction(h -> client.submit(h, job(queue)));
    }
    assertThat(wakes).hasValue(1);
  }

  @Test
  void aClientConfiguredNotToWakeLeavesItToTheNotify() {
    try (TaskBrokerClient quiet =
        TaskBrokerClient.create(
            client.database(),
            ClientConfig.builder().migrate(false).wakeLocalWorkers(false).build())) {
      quiet.submit(job(queue));
    }

    assertThat(wakes).hasValue(0);
  }

  @Test
  void aClosedRegistrationIsNotWoken() {
    registration.close();
    client.submit(job(queue));

    assertThat(wakes).hasValue(0);
  }

  @Test
  void localWakeupsAreScopedToTheirDatabase() {
    // A second Database on the very same URL: its client's submits must not wake this one's
    // workers (the old JVM-wide registry keyed by URL did), and it wakes its own.
    AtomicInteger otherWakes = new AtomicInteger();
    try (TaskBrokerClient other = TestClients.connect(db)) {
      LocalWakeups.of(other.database()).register(queue, otherWakes::incrementAndGet);
      assertThat(other.database().config().jdbcUrl())
          .isEqualTo(client.database().config().jdbcUrl());

      other.submit(job(queue));
      assertThat(wakes).as("this Database's worker").hasValue(0);
      assertThat(otherWakes).as("the other Database's worker").hasValue(1);

      client.submit(job(queue));
      assertThat(wakes).hasValue(1);
      assertThat(otherWakes).hasValue(1);
    }
  }

  @Test
  void aClosedDatabaseLeavesNoWakeUpBehind() {
    TaskBrokerClient other = TestClients.connect(db);
    LocalWakeups wakeups = LocalWakeups.of(other.database());
    AtomicInteger otherWakes = new AtomicInteger();
    wakeups.register(queue, otherWakes::incrementAndGet);
    other.close();

    wakeups.committed(List.of(queue));
    assertThat(otherWakes).hasValue(0);
    assertThatThrownBy(() -> LocalWakeups.of(other.database()))
        .isInstanceOf(IllegalStateException.class);
  }

  private static NewJob job(String queue) {
    return NewJob.builder("echo").queue(queue).payload(Map.of()).build();
  }
}
