package io.taskbroker.spring.shop;

import io.taskbroker.api.plugin.FailJob;
import io.taskbroker.api.plugin.JobType;
import io.taskbroker.api.plugin.TypedTaskPlugin;
import io.taskbroker.common.ScheduleDefinition;
import java.math.BigDecimal;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;

/**
 * A small application of the kind the starter is for: orders in its own table, receipts as jobs.
 */
@SpringBootApplication
public class ShopApplication {
  public record Receipt(long orderId, String customer, BigDecimal amount) {}

  public record Confirmation(long orderId, String text, BigDecimal amount) {}

  public static final JobType<Receipt, Confirmation> RECEIPT =
      JobType.of("receipt", Receipt.class, Confirmation.class);

  /** A plugin is just a bean; the embedded worker runs it. */
  @Bean
  public TypedTaskPlugin<Receipt, Confirmation> receiptPlugin() {
    return TypedTaskPlugin.of(
        RECEIPT,
        (receipt, context) -> {
          if (receipt.amount().signum() < 0) {
            throw new FailJob("negative amount " + receipt.amount());
          }
          return new Confirmation(
              receipt.orderId(),
              "receipt for order " + receipt.orderId() + " sent to " + receipt.customer(),
              receipt.amount());
        });
  }

  /** A schedule declared as a bean; another comes from the properties. */
  @Bean
  public ScheduleDefinition weeklyDigest() {
    return ScheduleDefinition.builder("weekly-digest", "0 8 * * 1", "receipt")
        .timeZone("Europe/Lisbon")
        .build();
  }
}
