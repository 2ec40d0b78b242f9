package io.taskbroker.api.plugin;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.UUID;

/**
 * What a running plugin knows about its job and how it talks back. One per attempt; its methods are
 * safe to call from any thread.
 */
public interface TaskContext {
  UUID jobId();

  String plugin();

  String queue();

  /** This attempt's number, from 1. */
  int attempt();

  int maxAttempts();

  ObjectNode payload();

  ObjectNode metadata();

  /**
   * Reports progress. Cheap: the latest value is kept in memory and written with the next heartbeat
   * (batched with every other running job), so call it as often as is handy.
   *
   * @param fraction from 0 to 1
   * @param message a short human-readable note, or null
   */
  void reportProgress(double fraction, String message);

  /** Whether the job was cancelled (or timed out, or its worker is shutting down hard). */
  boolean isCancelled();

  /** Throws {@link JobCancelledException} when {@link #isCancelled()}; a cheap checkpoint. */
  void throwIfCancelled();
}
