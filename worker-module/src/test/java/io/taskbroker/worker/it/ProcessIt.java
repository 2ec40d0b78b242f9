package io.taskbroker.worker.it;

import org.junit.jupiter.api.AfterEach;

/**
 * What every process-level test shares: the worker JVMs it starts and its database, both closed
 * after each test whatever the outcome. A test sets {@link #db} when it prepares its database.
 */
abstract class ProcessIt {
  final WorkerFleet fleet = new WorkerFleet(getClass().getSimpleName());
  ItDatabase db;

  @AfterEach
  void stopWorkersAndDisconnect() {
    fleet.close();
    if (db != null) {
      db.close();
    }
  }
}
