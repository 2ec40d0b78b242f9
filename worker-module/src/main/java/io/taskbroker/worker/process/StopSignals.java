package io.taskbroker.worker.process;

import java.time.Duration;

/**
 * How a long-running command ({@code worker}, {@code dev}) learns that it should stop. The real one
 * listens for SIGTERM and SIGINT ({@link ProcessStopSignals}); tests trigger their own.
 */
public interface StopSignals {
  /**
   * Starts watching for a stop request.
   *
   * @param maxStopTime how long a JVM shutdown begun elsewhere waits for the command to finish
   *     stopping before the JVM goes down anyway
   */
  StopRequest watch(Duration maxStopTime);

  /** One watch. Closing it says the command has finished stopping. */
  interface StopRequest extends AutoCloseable {
    /** Blocks until a stop is requested. */
    void await() throws InterruptedException;

    /** Blocks until a stop is requested or the timeout passes; returns whether one was. */
    boolean await(Duration timeout) throws InterruptedException;

    /**
     * Whether the stop was asked for (SIGTERM, Ctrl-C): the worker then hands its jobs back with
     * the attempt refunded. False when the JVM is exiting unasked (a plugin called {@code
     * System.exit}): the jobs it was running may be what killed it, so their attempt is spent.
     */
    boolean graceful();

    /** The command has stopped: a JVM shutdown waiting for it may go on; watching ends. */
    @Override
    void close();
  }
}
