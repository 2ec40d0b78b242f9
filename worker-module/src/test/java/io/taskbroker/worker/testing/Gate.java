package io.taskbroker.worker.testing;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A one-shot gate plugins wait at until the test opens it. A safety limit keeps a forgotten gate
 * from hanging a plugin thread forever. Thread-safe.
 */
public final class Gate {
  private static final long LIMIT_SECONDS = 60;

  private final CountDownLatch latch = new CountDownLatch(1);

  public void open() {
    latch.countDown();
  }

  public boolean isOpen() {
    return latch.getCount() == 0;
  }

  /** Waits until open; an interrupt (cancel, timeout, shutdown) ends the wait by throwing. */
  public void pass() throws InterruptedException {
    if (!latch.await(LIMIT_SECONDS, TimeUnit.SECONDS)) {
      throw new IllegalStateException("the test never opened the gate");
    }
  }

  /**
   * Waits until open, swallowing every interrupt: a plugin that ignores cancellation and timeouts.
   */
  public void passIgnoringInterrupts() {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(LIMIT_SECONDS);
    while (latch.getCount() > 0 && System.nanoTime() < deadline) {
      try {
        latch.await(10, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        // Ignored on purpose: this plugin does not honour interruption.
      }
    }
  }
}
