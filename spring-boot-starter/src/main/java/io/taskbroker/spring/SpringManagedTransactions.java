package io.taskbroker.spring;

import io.taskbroker.api.spi.AmbientTransaction;
import java.sql.Connection;
import java.util.Optional;
import java.util.function.Function;
import javax.sql.DataSource;
import org.springframework.jdbc.datasource.ConnectionHolder;
import org.springframework.jdbc.datasource.DataSourceUtils;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Joins a Spring-managed transaction ({@code @Transactional}, {@code TransactionTemplate}) on the
 * DataSource taskbroker uses: a submit inside one runs on that transaction's connection, so the job
 * exists iff the transaction commits, and its NOTIFY goes out at the commit. Outside one, or inside
 * a transaction on another DataSource, a submit commits on its own. Thread-safe and stateless.
 */
public final class SpringManagedTransactions implements AmbientTransaction {
  private final DataSource dataSource;

  public SpringManagedTransactions(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  @Override
  public <T> Optional<T> inCurrent(Function<Connection, T> work) {
    // Only a real transaction with a connection bound for our DataSource. Mere synchronization
    // (a SUPPORTS or NOT_SUPPORTED scope) would make DataSourceUtils hand out an auto-commit
    // connection that commits at once: that is a submit of its own, and says so by taking the
    // ordinary path.
    if (!TransactionSynchronizationManager.isActualTransactionActive()
        || !(TransactionSynchronizationManager.getResource(dataSource)
            instanceof ConnectionHolder holder)
        || !holder.isSynchronizedWithTransaction()) {
      return Optional.empty();
    }
    Connection connection = DataSourceUtils.getConnection(dataSource);
    try {
      return Optional.of(work.apply(connection));
    } finally {
      // Gives back the reference getConnection took; the transaction keeps its connection.
      DataSourceUtils.releaseConnection(connection, dataSource);
    }
  }
}
