package io.taskbroker.api.spi;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A shortcut from a client's committed submit to the workers of the same JVM serving that queue of
 * the same database. The NOTIFY a submit sends reaches a listener through the server: at idle on
 * the 2-core test machine that hop took about 1.5 ms of a 4 ms submit-to-claim path. A worker in
 * the submitting JVM need not wait for it: the client calls {@link #committed} once its transaction
 * has committed, and the worker claims at once. The NOTIFY still arrives, and still wakes every
 * other worker; the local worker's second look then finds nothing, at the cost of one empty claim.
 *
 * <p>Databases are told apart by their JDBC URL, as {@code DatabaseConfig#jdbcUrl} spells it: two
 * spellings of one database only lose the shortcut, and a wake meant for another database costs one
 * empty claim. Thread-safe; a wake must not block.
 */
public final class LocalWakeups {
  private static final Map<String, List<Runnable>> WAKES = new ConcurrentHashMap<>();

  private LocalWakeups() {}

  /**
   * Calls {@code wake} whenever a client of this JVM commits jobs for {@code queue} on {@code
   * database}, until the returned handle is closed.
   */
  public static Registration register(String database, String queue, Runnable wake) {
    String key = key(database, queue);
    WAKES.computeIfAbsent(key, k -> new CopyOnWriteArrayList<>()).add(wake);
    return () ->
        WAKES.computeIfPresent(
            key,
            (k, wakes) -> {
              wakes.remove(wake);
              return wakes.isEmpty() ? null : wakes;
            });
  }

  /** Jobs of these queues were committed on {@code database}: wake the local workers now. */
  public static void committed(String database, Collection<String> queues) {
    if (WAKES.isEmpty()) {
      return;
    }
    for (String queue : queues) {
      List<Runnable> wakes = WAKES.get(key(database, queue));
      if (wakes != null) {
        wakes.forEach(Runnable::run);
      }
    }
  }

  /** A registered wake; closing it unregisters it. Idempotent. */
  public interface Registration extends AutoCloseable {
    @Override
    void close();
  }

  private static String key(String database, String queue) {
    return database + '\u0000' + queue;
  }
}
