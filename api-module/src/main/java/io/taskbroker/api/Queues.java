package io.taskbroker.api;

import io.taskbroker.common.InvalidQueueException;
import io.taskbroker.common.QueueLimits;
import io.taskbroker.common.QueueSettings;
import io.taskbroker.common.sql.QueueRepository;
import java.util.List;
import java.util.Optional;

/**
 * Queue controls through the client: pause, resume and flow limits ({@code taskbroker.queues}),
 * through the V5 SQL functions, which validate, write and tell every worker at once (a control
 * notification; the claims check the row themselves, so a lost one is harmless). From {@link
 * TaskBrokerClient#queues()}. Stateless apart from the repository; thread-safe.
 */
public final class Queues {
  private final QueueRepository repository;

  Queues(QueueRepository repository) {
    this.repository = repository;
  }

  /**
   * Stops every worker's claims on the queue within a second; running jobs finish, new ones wait. A
   * queue may be paused before it has jobs.
   *
   * @return true when it was not paused before
   * @throws InvalidQueueException for a bad queue name
   */
  public boolean pause(String queue) {
    return repository.pause(queue);
  }

  /**
   * Lets workers claim from the queue again, within a second.
   *
   * @return true when it was paused; false when it was not (or has no settings)
   */
  public boolean resume(String queue) {
    return repository.resume(queue);
  }

  /**
   * Sets every limit of the queue at once; a null component clears that limit ({@link
   * QueueLimits#none()} clears them all). Lowering a limit stops no running job.
   *
   * @throws InvalidQueueException naming the setting the database refused
   */
  public void setLimits(String queue, QueueLimits limits) {
    repository.setLimits(queue, limits);
  }

  /** Every queue that has settings (a row), by name. */
  public List<QueueSettings> list() {
    return repository.list();
  }

  /** The queue's settings; empty when it has none (running, no limits). */
  public Optional<QueueSettings> get(String queue) {
    return repository.get(queue);
  }
}
