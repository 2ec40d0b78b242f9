package io.taskbroker.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.common.InvalidConfigException;
import io.taskbroker.common.Json;
import io.taskbroker.common.QueueLimits;
import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * What one {@code taskbroker bench} run does, validated. Immutable. Zero for a worker knob means
 * "the worker's default", so the bench measures what a user gets unless told otherwise.
 *
 * @param workloads a subset of {@link #WORKLOADS}
 * @param drainJobs jobs the drain workload loads and drains
 * @param warmupJobs jobs each drain's workers run first, untimed, so the JIT has compiled the hot
 *     path (a long-running worker's state); 0: none
 * @param drainPhases the drain's timed phases in order, each of {@code drainJobs} jobs on the same
 *     worker JVMs: {@code [cold, warm]} (the first jobs the fresh workers see, then as many again),
 *     {@code [cold]}, or {@code [warm]} (after the untimed warm-up)
 * @param processes worker JVMs the drain starts
 * @param concurrency each worker's concurrency in the drain
 * @param workerJvmOptions JVM flags of each drain worker (heap size, collector)
 * @param insertBatch jobs per insert statement while loading the drain (all in one transaction)
 * @param memoryInterval how often the drain samples each worker's RSS
 * @param singleJobs jobs per single-row enqueue run
 * @param singleThreads for each entry, one single-row enqueue run with that many threads
 * @param commitReference also time plain one-row INSERTs without NOTIFY, as the commit rate
 * @param batchJobs jobs per batched enqueue run
 * @param batchSizes for each entry, one batched enqueue run with that batch size
 * @param latencySamples samples at idle
 * @param latencyGap the most a sample waits before submitting (uniformly random from zero)
 * @param latencyConcurrency the in-process latency worker's concurrency
 * @param rate open-loop arrival rate per second; 0 skips the open-loop run
 * @param rateDuration how long the open-loop run submits
 * @param rateSenders threads that submit on the open-loop timetable
 * @param repeat how many times each workload runs (the table shows the median)
 * @param drainLimits flow limits set on each drain queue before its workers start ({@link
 *     QueueLimits#none()}: the plain claim), to measure the limited claim's overhead
 * @param concurrencyKeys drain jobs get keys {@code k0 … k(N-1)} round-robin; 0: no key
 * @param noPrefetch the drain workers claim no jobs ahead (as on a limited queue), to tell the
 *     limited claim's own cost from that of not claiming ahead
 * @param soak the soak workload's duration, interval and history ({@code --workload soak})
 */
record BenchSettings(
    Set<String> workloads,
    int drainJobs,
    int warmupJobs,
    List<String> drainPhases,
    int processes,
    int concurrency,
    int maxClaimBatch,
    int completerBatch,
    int poolSize,
    String javaCommand,
    String workerClasspath,
    List<String> workerJvmOptions,
    int insertBatch,
    Duration drainTimeout,
    Duration memoryInterval,
    int singleJobs,
    List<Integer> singleThreads,
    boolean commitReference,
    int batchJobs,
    List<Integer> batchSizes,
    int latencySamples,
    Duration latencyGap,
    int latencyConcurrency,
    double rate,
    Duration rateDuration,
    int rateSenders,
    int repeat,
    boolean vacuum,
    QueueLimits drainLimits,
    int concurrencyKeys,
    boolean noPrefetch,
    SoakSettings soak) {

  static final List<String> WORKLOADS = List.of("drain", "enqueue", "latency");
  static final String COLD = "cold";
  static final String WARM = "warm";

  /**
   * The drain's phases when {@code --phases} is not given: the warm-up, if any, means warm only.
   */
  static List<String> defaultPhases(int warmupJobs) {
    return warmupJobs > 0 ? List.of(WARM) : List.of(COLD, WARM);
  }

  /** Workloads that run only when named, being long: not in the default list. */
  static final List<String> OPTIONAL_WORKLOADS = List.of("soak");

  BenchSettings {
    workloads = Set.copyOf(workloads);
    workerJvmOptions = List.copyOf(workerJvmOptions);
    singleThreads = List.copyOf(singleThreads);
    batchSizes = List.copyOf(batchSizes);
    drainPhases = List.copyOf(drainPhases);
    drainLimits = drainLimits == null ? QueueLimits.none() : drainLimits;
    atLeast("--concurrency-keys", concurrencyKeys, 0);
    for (String workload : workloads) {
      if (!WORKLOADS.contains(workload) && !OPTIONAL_WORKLOADS.contains(workload)) {
        throw new InvalidConfigException(
            "unknown workload '"
                + workload
                + "'; choose from "
                + String.join(", ", WORKLOADS)
                + ", "
                + String.join(", ", OPTIONAL_WORKLOADS));
      }
    }
    if (workloads.isEmpty()) {
      throw new InvalidConfigException("no workload selected");
    }
    atLeast("--jobs", drainJobs, 1);
    atLeast("--warmup-jobs", warmupJobs, 0);
    if (!List.of(List.of(COLD, WARM), List.of(COLD), List.of(WARM)).contains(drainPhases)) {
      throw new InvalidConfigException(
          "--phases takes cold,warm, cold or warm, got '" + String.join(",", drainPhases) + "'");
    }
    if (drainPhases.contains(COLD) && warmupJobs > 0) {
      throw new InvalidConfigException(
          "--phases "
              + String.join(",", drainPhases)
              + " times fresh workers, so it excludes --warmup-jobs "
              + warmupJobs
              + "; use --phases warm");
    }
    if (drainPhases.equals(List.of(WARM)) && warmupJobs == 0) {
      throw new InvalidConfigException(
          "--phases warm needs --warmup-jobs N > 0 to warm the workers up first;"
              + " or use --phases cold,warm");
    }
    atLeast("--processes", processes, 1);
    if (concurrency < 1 || concurrency > 10_000) {
      throw new InvalidConfigException(
          "--concurrency must be between 1 and 10000, got " + concurrency);
    }
    atLeast("--max-claim-batch", maxClaimBatch, 0);
    atLeast("--completer-batch", completerBatch, 0);
    atLeast("--pool-size", poolSize, 0);
    atLeast("--insert-batch", insertBatch, 1);
    atLeast("--enqueue-single-jobs", singleJobs, 1);
    atLeast("--enqueue-batch-jobs", batchJobs, 1);
    for (int threads : singleThreads) {
      atLeast("--enqueue-threads", threads, 1);
    }
    for (int size : batchSizes) {
      atLeast("--enqueue-batch-sizes", size, 1);
    }
    atLeast("--latency-samples", latencySamples, 1);
    atLeast("--latency-concurrency", latencyConcurrency, 1);
    atLeast("--rate-senders", rateSenders, 1);
    atLeast("--repeat", repeat, 1);
    if (rate < 0 || rate > 1_000_000) {
      throw new InvalidConfigException("--rate must be between 0 and 1000000/s, got " + rate);
    }
    if (latencyGap.isNegative()) {
      throw new InvalidConfigException("--latency-gap must not be negative, got " + latencyGap);
    }
    if (rate > 0 && rateDuration.toMillis() < 100) {
      throw new InvalidConfigException(
          "--rate-duration must be at least 100ms, got " + rateDuration);
    }
    if (drainTimeout.toMillis() < 1000) {
      throw new InvalidConfigException("--drain-timeout must be at least 1s, got " + drainTimeout);
    }
    if (workloads.contains("soak") && rate <= 0) {
      throw new InvalidConfigException("--workload soak needs a --rate above 0, got " + rate);
    }
    if (memoryInterval.toMillis() < 100) {
      throw new InvalidConfigException(
          "--memory-interval must be at least 100ms, got " + memoryInterval);
    }
  }

  boolean runs(String workload) {
    return workloads.contains(workload);
  }

  ObjectNode toJson() {
    ObjectNode json = Json.object();
    json.set(
        "workloads",
        Json.mapper()
            .valueToTree(
                java.util.stream.Stream.concat(WORKLOADS.stream(), OPTIONAL_WORKLOADS.stream())
                    .filter(this::runs)
                    .toList()));
    json.put("drain_jobs", drainJobs);
    json.put("warmup_jobs", warmupJobs);
    json.set("drain_phases", Json.mapper().valueToTree(drainPhases));
    json.put("processes", processes);
    json.put("concurrency", concurrency);
    json.put("max_claim_batch", maxClaimBatch == 0 ? "default" : Integer.toString(maxClaimBatch));
    json.put("completer_batch", completerBatch == 0 ? "default" : Integer.toString(completerBatch));
    json.put("pool_size", poolSize == 0 ? "default" : Integer.toString(poolSize));
    json.put("worker_jvm_options", String.join(" ", workerJvmOptions));
    json.put("insert_batch", insertBatch);
    json.put("enqueue_single_jobs", singleJobs);
    json.set("enqueue_threads", Json.mapper().valueToTree(singleThreads));
    json.put("enqueue_batch_jobs", batchJobs);
    json.set("enqueue_batch_sizes", Json.mapper().valueToTree(batchSizes));
    json.put("latency_samples", latencySamples);
    json.put("latency_gap_ms", latencyGap.toMillis());
    json.put("latency_concurrency", latencyConcurrency);
    json.put("rate_per_sec", rate);
    json.put("rate_duration_ms", rateDuration.toMillis());
    json.put("rate_senders", rateSenders);
    json.put("repeat", repeat);
    json.put("drain_queue_limits", describeLimits(drainLimits));
    json.put("concurrency_keys", concurrencyKeys);
    json.put("prefetch", noPrefetch ? "none" : "default");
    if (runs("soak")) {
      json.set("soak", soak.toJson());
    }
    return json;
  }

  /** {@code global=100000,rate=1000/1s,key=4} as the option takes it, or {@code none}. */
  static String describeLimits(QueueLimits limits) {
    List<String> parts = new java.util.ArrayList<>();
    if (limits.globalConcurrency() != null) {
      parts.add("global=" + limits.globalConcurrency());
    }
    if (limits.rateLimit() != null) {
      parts.add("rate=" + limits.rateLimit() + "/" + limits.ratePeriod().toMillis() + "ms");
    }
    if (limits.keyConcurrency() != null) {
      parts.add("key=" + limits.keyConcurrency());
    }
    return parts.isEmpty() ? "none" : String.join(",", parts);
  }

  private static void atLeast(String option, int value, int minimum) {
    if (value < minimum) {
      throw new InvalidConfigException(option + " must be at least " + minimum + ", got " + value);
    }
  }
}
