package io.taskbroker.worker.process;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stop requests from the operating system: SIGTERM (docker stop, systemd, kill) and SIGINT
 * (Ctrl-C), plus a JVM shutdown begun any other way.
 *
 * <p>Why signal handlers and not only a shutdown hook: once the JVM is shutting down, every hook
 * runs at once, among them the embedded PostgreSQL's own, which would stop the database while the
 * worker still drains; and a JVM stopped by a signal exits with 143, not 0. Handling the signal
 * lets the command stop in order (worker, then pool, then database) and return 0. The handlers are
 * installed through reflection because {@code sun.misc.Signal} draws a compiler warning; where it
 * is missing the shutdown hook alone still drains the worker. A second signal stops at once.
 *
 * <p>A shutdown hook that runs with no signal received means the JVM is exiting unasked: something
 * called {@code System.exit} (a plugin, most likely the job it runs). That stop is not {@link
 * StopRequest#graceful() graceful}: the worker still drains, but spends the attempt of what it
 * hands back, so a job that exits every worker ends failed after its attempts. (Where the handlers
 * cannot be installed, a SIGTERM also arrives through the hook and is told apart from nothing: the
 * hook then counts as graceful.)
 *
 * <p>Thread-safe.
 */
public final class ProcessStopSignals implements StopSignals {
  private static final Logger LOG = LoggerFactory.getLogger(ProcessStopSignals.class);
  private static final Map<String, Integer> SIGNALS = Map.of("TERM", 15, "INT", 2);

  @Override
  public StopRequest watch(Duration maxStopTime) {
    CountDownLatch requested = new CountDownLatch(1);
    CountDownLatch stopped = new CountDownLatch(1);
    Map<String, Object> previous = new LinkedHashMap<>();
    AtomicBoolean signalled = new AtomicBoolean();
    boolean handled = true;
    for (Map.Entry<String, Integer> signal : SIGNALS.entrySet()) {
      Object old = install(signal.getKey(), () -> onSignal(signal, requested, signalled));
      if (old != null) {
        previous.put(signal.getKey(), old);
      } else {
        handled = false;
      }
    }
    boolean signalsHandled = handled;
    Thread hook =
        new Thread(
            () -> {
              if (requested.getCount() > 0 && !signalled.get() && signalsHandled) {
                LOG.warn(
                    "The JVM is exiting without a stop signal (System.exit?): the worker stops,"
                        + " and the jobs it hands back have their attempt spent");
              }
              requested.countDown();
              try {
                if (!stopped.await(maxStopTime.toMillis(), TimeUnit.MILLISECONDS)) {
                  LOG.warn("Did not finish stopping within {}; exiting anyway", maxStopTime);
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "taskbroker-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    return new StopRequest() {
      @Override
      public void await() throws InterruptedException {
        requested.await();
      }

      @Override
      public boolean await(Duration timeout) throws InterruptedException {
        return requested.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
      }

      @Override
      public boolean graceful() {
        return signalled.get() || !signalsHandled;
      }

      @Override
      public void close() {
        stopped.countDown();
        try {
          Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
          // The JVM is already shutting down; the hook is running and returns now.
        }
        previous.forEach(ProcessStopSignals::restore);
      }
    };
  }

  private static void onSignal(
      Map.Entry<String, Integer> signal, CountDownLatch requested, AtomicBoolean signalled) {
    if (requested.getCount() == 0) {
      // The operator asked twice: stop now. Jobs still running return to pending when their
      // lease expires, as if this worker had crashed.
      LOG.warn(
          "Second SIG{}: stopping at once; unfinished jobs return to pending when their lease"
              + " expires",
          signal.getKey());
      Runtime.getRuntime().halt(128 + signal.getValue());
    }
    LOG.info(
        "SIG{} received: stopping gracefully (send it again to stop at once)", signal.getKey());
    signalled.set(true);
    requested.countDown();
  }

  /** Installs a handler; returns the previous one, or null when signals cannot be handled. */
  private static Object install(String name, Runnable action) {
    try {
      Class<?> signalClass = Class.forName("sun.misc.Signal");
      Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
      Object signal = signalClass.getConstructor(String.class).newInstance(name);
      Object handler =
          Proxy.newProxyInstance(
              handlerClass.getClassLoader(),
              new Class<?>[] {handlerClass},
              (proxy, method, args) -> invokeHandler(proxy, method, args, action));
      Method handle = signalClass.getMethod("handle", signalClass, handlerClass);
      return handle.invoke(null, signal, handler);
    } catch (ReflectiveOperationException | RuntimeException e) {
      // E.g. -Xrs, or a JVM without sun.misc.Signal: the shutdown hook still drains the worker.
      Throwable cause = e instanceof InvocationTargetException ? e.getCause() : e;
      LOG.debug("Cannot handle SIG{} ({}); relying on the shutdown hook", name, cause.toString());
      return null;
    }
  }

  private static Object invokeHandler(Object proxy, Method method, Object[] args, Runnable action) {
    switch (method.getName()) {
      case "handle":
        action.run();
        return null;
      case "hashCode":
        return System.identityHashCode(proxy);
      case "equals":
        return proxy == args[0];
      default:
        return "taskbroker stop handler";
    }
  }

  private static void restore(String name, Object previous) {
    try {
      Class<?> signalClass = Class.forName("sun.misc.Signal");
      Class<?> handlerClass = Class.forName("sun.misc.SignalHandler");
      Object signal = signalClass.getConstructor(String.class).newInstance(name);
      signalClass.getMethod("handle", signalClass, handlerClass).invoke(null, signal, previous);
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.debug("Cannot restore the SIG{} handler: {}", name, e.toString());
    }
  }
}
