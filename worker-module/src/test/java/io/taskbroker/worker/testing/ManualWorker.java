package io.taskbroker.worker.testing;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.common.Database;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.sql.ClaimRef;
import io.taskbroker.common.sql.HeartbeatEntry;
import io.taskbroker.common.sql.OutcomeWrite;
import io.taskbroker.common.sql.WorkerRepository;
import io.taskbroker.worker.ManualUnits;
import io.taskbroker.worker.Worker;
import io.taskbroker.worker.WorkerConfig;
import io.taskbroker.worker.internal.JobListeners;
import io.taskbroker.worker.internal.Supervisor;
import io.taskbroker.worker.maintenance.Rescuer;
import io.taskbroker.worker.plugins.PluginRegistry;
import io.taskbroker.worker.producer.Producer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A worker moved by hand (after db-scheduler's ManualScheduler), in one of two ways.
 *
 * <ul>
 *   <li>{@link #ManualWorker(Database, String)}: one statement at a time, as a chosen worker id:
 *       claim, complete, heartbeat, and one rescue pass on demand. No plugin, no thread.
 *   <li>{@link #of(Database, MutableClock, WorkerConfig.Builder, TaskPlugin...)}: the real units of
 *       a worker (producer, executor, completer, rescuer) built in manual mode, none started, with
 *       a settable clock: {@link #claimOnce()} runs one claim of the real producer, {@link
 *       #runJobs()} runs the claimed jobs' executor pipelines on the caller's thread, {@link
 *       #flushOnce()} writes what the completer holds, {@link #rescueOnce()} runs the real rescuer.
 * </ul>
 *
 * <p>Either way a test decides exactly when each step happens. Not thread-safe in the second form
 * (one test thread steps it).
 */
public final class ManualWorker implements AutoCloseable {
  private final WorkerRepository repository;
  private final String workerId;
  private final Rescuer rescuer;
  private final Worker worker;
  private final MutableClock clock;
  private final String queue;
  private final Queue<Runnable> jobs = new ConcurrentLinkedQueue<>();

  public ManualWorker(Database database, String workerId) {
    this.repository = new WorkerRepository(database);
    this.workerId = workerId;
    // Never started: rescueOnce() runs a pass on the caller's thread.
    this.rescuer =
        new Rescuer(
            repository,
            Duration.ofMinutes(1),
            Duration.ofHours(1),
            JobListeners.none(),
            Supervisor.alone(workerId).unit("rescuer", Duration.ofHours(1)));
    this.worker = null;
    this.clock = null;
    this.queue = null;
  }

  private ManualWorker(
      Database database, MutableClock clock, WorkerConfig config, TaskPlugin... plugins) {
    this.repository = new WorkerRepository(database);
    this.workerId = config.workerId();
    this.clock = clock;
    this.queue = config.queues().keySet().iterator().next();
    this.worker =
        ManualUnits.build(database, config, PluginRegistry.of(List.of(plugins)), jobs::add);
    this.rescuer = ManualUnits.rescuer(worker).orElse(null);
  }

  /**
   * A worker of the real units in manual mode, on the config's first queue, whose clock is {@code
   * clock} (it replaces the config's).
   */
  public static ManualWorker of(
      Database database, MutableClock clock, WorkerConfig.Builder config, TaskPlugin... plugins) {
    return new ManualWorker(database, clock, config.clock(clock).build(), plugins);
  }

  /** The worker's clock (the units' own timestamps follow it). */
  public MutableClock clock() {
    return clock;
  }

  /** Moves the worker's clock. */
  public void tick(Duration by) {
    clock.tick(by);
  }

  /** The worker whose units this steps (its counters; {@link #close()} shuts it down). */
  public Worker worker() {
    return requireUnits();
  }

  /** The real producer of the queue. */
  public Producer producer() {
    return ManualUnits.producer(requireUnits(), queue);
  }

  /** One claim of the real producer into its free slots; the jobs wait for {@link #runJobs()}. */
  public List<Job> claimOnce() {
    return producer().claimOnce();
  }

  /**
   * Runs the executor's pipeline of every job claimed and not yet run, one after the other on the
   * caller's thread; their outcomes go to the completer. Returns how many ran.
   */
  public int runJobs() {
    requireUnits();
    int ran = 0;
    Runnable job;
    while ((job = jobs.poll()) != null) {
      job.run();
      ran++;
    }
    return ran;
  }

  /** Writes every outcome the completer holds, on the caller's thread; returns how many. */
  public int flushOnce() {
    return ManualUnits.completer(requireUnits()).flushOnce();
  }

  private Worker requireUnits() {
    if (worker == null) {
      throw new IllegalStateException("a statement-level ManualWorker has no units; use of(...)");
    }
    return worker;
  }

  /** Shuts the manual worker down (hands back what it still holds); no-op for statements. */
  @Override
  public void close() {
    if (worker != null) {
      worker.shutdown(Duration.ZERO);
    }
  }

  public String id() {
    return workerId;
  }

  public WorkerRepository repository() {
    return repository;
  }

  /** Claims up to {@code limit} jobs of the queue, any plugin, with this lease. */
  public List<Job> claim(String queue, int limit, Duration lease) {
    return repository.claim(workerId, queue, null, limit, lease);
  }

  /** Claims exactly one job of the queue and returns it. */
  public Job claimOne(String queue, Duration lease) {
    List<Job> claimed = claim(queue, 1, lease);
    assertThat(claimed).as("jobs %s claimed from %s", workerId, queue).hasSize(1);
    return claimed.get(0);
  }

  /** Writes a completed outcome for the job as this worker holds it; returns what was accepted. */
  public Map<UUID, JobStatus> complete(Job job, JsonNode result) {
    return repository.complete(
        workerId, List.of(OutcomeWrite.completed(job.id(), job.attempt(), result)));
  }

  /** Writes a final failure for the job as this worker holds it; returns what was accepted. */
  public Map<UUID, JobStatus> fail(Job job, String error) {
    return repository.complete(
        workerId, List.of(OutcomeWrite.failed(job.id(), job.attempt(), error, null)));
  }

  /** Extends the lease of these jobs; returns the held ones and whether a cancel is requested. */
  public Map<UUID, Boolean> heartbeat(Duration lease, Job... jobs) {
    List<HeartbeatEntry> entries =
        Arrays.stream(jobs)
            .map(job -> new HeartbeatEntry(new ClaimRef(job.id(), job.attempt()), null, null))
            .toList();
    return repository.heartbeat(workerId, entries, lease);
  }

  /**
   * One rescue pass now, as any worker's rescuer runs it; returns how many jobs it took back.
   * Throws when the pass failed (a test that expects "nothing to rescue" must not pass because the
   * database refused the statement).
   */
  public int rescueOnce() {
    if (rescuer == null) {
      throw new IllegalStateException("this worker's config has the rescuer disabled");
    }
    return rescuer.rescueOnce();
  }
}
