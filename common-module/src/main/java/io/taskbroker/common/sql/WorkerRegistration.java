package io.taskbroker.common.sql;

import java.util.List;
import java.util.Map;

/** A worker's row in {@code taskbroker.workers}. {@code plugins} holds "*" for "any". */
public record WorkerRegistration(
    String id,
    String host,
    long pid,
    Map<String, Integer> queues,
    List<String> plugins,
    int concurrency) {

  public WorkerRegistration {
    queues = Map.copyOf(queues);
    plugins = List.copyOf(plugins);
  }
}
