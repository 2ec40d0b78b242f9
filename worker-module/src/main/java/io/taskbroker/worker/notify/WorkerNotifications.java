package io.taskbroker.worker.notify;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.internal.Channels;
import io.taskbroker.api.internal.PgNotifier;
import io.taskbroker.common.Database;
import io.taskbroker.common.Json;
import io.taskbroker.worker.producer.Producer;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's LISTEN connection: new-job notifications wake the producer of their queue, control
 * messages addressed to this worker cancel running jobs, and a reconnect makes every producer
 * rescan and the heartbeater beat (notifications sent while disconnected are gone). Thread-safe;
 * start/stop idempotent.
 */
public final class WorkerNotifications {
  private static final Logger LOG = LoggerFactory.getLogger(WorkerNotifications.class);

  private final PgNotifier notifier;

  /**
   * @param cancel called with the id of a job of this worker whose cancel was requested
   * @param onReconnect called after the LISTEN connection came back
   */
  public WorkerNotifications(
      Database database,
      String workerId,
      Map<String, Producer> producers,
      Consumer<UUID> cancel,
      Runnable onReconnect) {
    this.notifier = new PgNotifier(database, "worker");
    notifier.subscribe(
        Channels.NEW_JOB,
        queue -> {
          if ("*".equals(queue)) {
            producers.values().forEach(Producer::notified);
          } else {
            Producer producer = producers.get(queue);
            if (producer != null) {
              producer.notified();
            }
          }
        });
    notifier.subscribe(Channels.CONTROL, payload -> onControl(payload, workerId, cancel));
    notifier.onReconnect(
        () -> {
          producers.values().forEach(Producer::notifyWork);
          onReconnect.run();
        });
  }

  /** Called with the Error that ended the LISTEN thread. Before {@link #start()}. */
  public void onDeath(Consumer<Throwable> listener) {
    notifier.onDeath(listener);
  }

  public void start() {
    notifier.start();
  }

  public void stop() {
    notifier.stop();
  }

  /**
   * Waits until LISTEN is up for the first time, so a job submitted after this returns wakes a
   * producer. Returns whether it is up by then.
   */
  public boolean awaitListening(Duration timeout) {
    return notifier.awaitListening(timeout);
  }

  public boolean isConnected() {
    return notifier.isConnected();
  }

  private static void onControl(String payload, String workerId, Consumer<UUID> cancel) {
    JsonNode message;
    try {
      message = Json.parse(payload);
    } catch (RuntimeException e) {
      LOG.warn("Ignoring a control message that is not JSON: {}", payload);
      return;
    }
    if (!"cancel".equals(message.path("action").asText())) {
      return;
    }
    String target = message.path("worker_id").asText(null);
    if (target != null && !target.equals(workerId)) {
      return;
    }
    try {
      cancel.accept(UUID.fromString(message.path("job_id").asText()));
    } catch (IllegalArgumentException e) {
      LOG.warn("Ignoring a cancel message with a bad job id: {}", payload);
    }
  }
}
