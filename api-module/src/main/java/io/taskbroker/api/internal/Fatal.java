package io.taskbroker.api.internal;

/**
 * Which throwables user code (an executor, a completion callback) may throw without taking the
 * machinery down with it. Stateless.
 */
public final class Fatal {
  private Fatal() {}

  /**
   * True for errors after which the JVM cannot be trusted to go on (out of memory, an internal
   * error): these are recorded where they hit and then rethrown. Everything else, {@link
   * AssertionError}, {@link StackOverflowError} (the stack has unwound by the time it is caught),
   * {@link LinkageError} included, is user code's failure: logged and recorded, never left to kill
   * a tracker's or backend's thread.
   */
  public static boolean isFatal(Throwable thrown) {
    return thrown instanceof VirtualMachineError && !(thrown instanceof StackOverflowError);
  }
}
