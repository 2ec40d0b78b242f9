package io.taskbroker.worker;

/**
 * What shutdown does with the jobs still running under the worker once the drain is over.
 *
 * <p>Only a stop someone asked for (SIGTERM, Ctrl-C, an application calling {@link
 * Worker#shutdown()}) refunds: the jobs did nothing wrong, we stopped. A process dying without such
 * a request ({@code System.exit} from a plugin, an {@code Error} in the worker's own machinery)
 * spends the attempt, as a kill -9 does, so a job that kills every worker ends {@code failed} after
 * {@code max_attempts}.
 */
public enum HandBack {
  /** Back to pending with the attempt refunded (a graceful stop). */
  REFUND,
  /**
   * Away from this worker with the attempt spent and a {@code worker_exit} entry in its history:
   * pending again, or failed when attempts are used up.
   */
  SPEND
}
