package io.taskbroker.api.spi;

import java.sql.Connection;
import java.util.Optional;
import java.util.function.Function;

/**
 * The transaction a submit joins when it is given no {@link Connection}: a framework's thread-bound
 * transaction (the Spring Boot starter's implementation joins a Spring-managed one). A {@link
 * io.taskbroker.api.TaskBrokerClient} made with one submits on the current transaction's
 * connection, so the job exists iff that transaction commits; outside any, it submits in a
 * transaction of its own. Implementations are thread-safe.
 */
public interface AmbientTransaction {
  /** Never joins: every submit without a connection commits on its own. */
  AmbientTransaction NONE =
      new AmbientTransaction() {
        @Override
        public <T> Optional<T> inCurrent(Function<Connection, T> work) {
          return Optional.empty();
        }
      };

  /**
   * When the calling thread is inside a transaction on the client's database, runs {@code work} on
   * that transaction's connection (neither committing nor closing it) and returns what it returned;
   * otherwise returns empty without running it.
   */
  <T> Optional<T> inCurrent(Function<Connection, T> work);
}
