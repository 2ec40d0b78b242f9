package io.taskbroker.spring.shop;

import io.taskbroker.api.TaskBrokerClient;
import java.math.BigDecimal;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;

/** Saves an order and submits its receipt job in one Spring-managed transaction. */
@Service
public class OrderService {
  /** What the last call saw inside its transaction, for the test to check after a rollback. */
  public record Seen(long orderId, UUID jobId, long jobRowsInTransaction) {}

  private final JdbcTemplate jdbc;
  private final TaskBrokerClient taskBroker;
  private final AtomicReference<Seen> lastSeen = new AtomicReference<>();

  public OrderService(JdbcTemplate jdbc, TaskBrokerClient taskBroker) {
    this.jdbc = jdbc;
    this.taskBroker = taskBroker;
  }

  /**
   * @param declined throw after the submit, so the transaction rolls back
   */
  @Transactional
  public UUID placeOrder(String customer, BigDecimal amount, boolean declined) {
    Long orderId =
        jdbc.queryForObject(
            "INSERT INTO orders (customer, amount) VALUES (?, ?) RETURNING id",
            Long.class,
            customer,
            amount);
    UUID jobId =
        taskBroker.submit(
            ShopApplication.RECEIPT, new ShopApplication.Receipt(orderId, customer, amount));
    // Visible here, on the transaction's connection, before any commit.
    Long rows =
        jdbc.queryForObject("SELECT count(*) FROM taskbroker.jobs WHERE id = ?", Long.class, jobId);
    lastSeen.set(new Seen(orderId, jobId, rows));
    if (declined) {
      throw new IllegalStateException("payment declined for " + customer);
    }
    return jobId;
  }

  public Seen lastSeen() {
    return lastSeen.get();
  }
}
