package io.taskbroker.worker.testing;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.common.Json;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A plugin whose behaviour a test gives as a lambda, and which counts for itself what ran: how
 * often each job was executed, in which order, when, and how many ran at once (so tests need not
 * trust the worker's own bookkeeping). Thread-safe.
 */
public final class TestPlugin implements TaskPlugin {
  /** What one execution does. */
  @FunctionalInterface
  public interface Body {
    JsonNode run(TaskContext context) throws Exception;
  }

  private final String name;
  private final Body body;
  private final Duration timeout;
  private final Map<UUID, AtomicInteger> executions = new ConcurrentHashMap<>();
  private final List<UUID> startOrder = new CopyOnWriteArrayList<>();
  private final Map<UUID, List<Instant>> startTimes = new ConcurrentHashMap<>();
  private final AtomicInteger total = new AtomicInteger();
  private final AtomicInteger finished = new AtomicInteger();
  private final AtomicInteger running = new AtomicInteger();
  private final AtomicInteger maxRunning = new AtomicInteger();

  private TestPlugin(String name, Body body, Duration timeout) {
    this.name = name;
    this.body = body;
    this.timeout = timeout;
  }

  public static TestPlugin named(String name, Body body) {
    return new TestPlugin(name, body, null);
  }

  /** Returns {@code {"ok": true, "attempt": n}} at once. */
  public static TestPlugin completing(String name) {
    return named(name, context -> okResult(context));
  }

  public static JsonNode okResult(TaskContext context) {
    return Json.object().put("ok", true).put("attempt", context.attempt());
  }

  /** The same plugin with a plugin-level timeout. */
  public TestPlugin withTimeout(Duration timeout) {
    return new TestPlugin(name, body, timeout);
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public Optional<Duration> timeout() {
    return Optional.ofNullable(timeout);
  }

  @Override
  public JsonNode execute(TaskContext context) throws Exception {
    UUID id = context.jobId();
    total.incrementAndGet();
    executions.computeIfAbsent(id, key -> new AtomicInteger()).incrementAndGet();
    startOrder.add(id);
    startTimes.computeIfAbsent(id, key -> new CopyOnWriteArrayList<>()).add(Instant.now());
    int now = running.incrementAndGet();
    maxRunning.accumulateAndGet(now, Math::max);
    try {
      return body.run(context);
    } finally {
      running.decrementAndGet();
      finished.incrementAndGet();
    }
  }

  /** How many times this job was executed. */
  public int executions(UUID id) {
    AtomicInteger count = executions.get(id);
    return count == null ? 0 : count.get();
  }

  /** Executions started, over every job. */
  public int totalExecutions() {
    return total.get();
  }

  /** Executions that have returned or thrown. */
  public int finishedExecutions() {
    return finished.get();
  }

  /** Executions inside the plugin right now. */
  public int running() {
    return running.get();
  }

  /** The most executions that were inside the plugin at the same time. */
  public int maxRunning() {
    return maxRunning.get();
  }

  /** Job ids in the order their executions started (a job run twice appears twice). */
  public List<UUID> startOrder() {
    return List.copyOf(startOrder);
  }

  /** When each execution of this job started, by the JVM clock. */
  public List<Instant> startTimes(UUID id) {
    return List.copyOf(startTimes.getOrDefault(id, List.of()));
  }

  /** Every job executed, with how often. */
  public Map<UUID, Integer> executionCounts() {
    Map<UUID, Integer> counts = new ConcurrentHashMap<>();
    executions.forEach((id, count) -> counts.put(id, count.get()));
    return counts;
  }
}
