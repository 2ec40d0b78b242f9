package io.taskbroker.worker.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.taskbroker.common.Json;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import io.taskbroker.worker.completer.Completer;
import io.taskbroker.worker.testing.LoginRoles;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Trust, all together: good jobs mixed with every kind of bad job (a plugin that throws, one that
 * hangs past its timeout, one that ignores interruption past its timeout, one that ignores it and
 * is cancelled, one that calls {@code System.exit}, results PostgreSQL cannot store, progress
 * messages it refuses, a 20 MB exception message, odd payloads), forged notifications from a role
 * with no privileges, while worker processes are SIGKILLed and restarted and their connections are
 * terminated. At the end every good job completed exactly once, every bad job is final with a clear
 * error, and no worker is half-alive.
 *
 * <p>A chaos driver paces itself on a scheduled executor ({@link #TICK}); it alone starts, kills
 * and restarts worker processes (as an orchestrator would), so the test thread only waits on
 * conditions.
 */
@WithPostgres
class ChaosIT extends ProcessIt {
  /** How long bad jobs, kills, terminations and forged notifications go on. */
  private static final Duration CHAOS = Duration.ofSeconds(110);

  private static final Duration TICK = Duration.ofMillis(500);
  private static final int WORKERS = 3;
  private static final int CONCURRENCY = 4;
  private static final int GOOD_PER_TICK = 4;
  private static final int BAD_EVERY_TICKS = 4;
  private static final int LONG_GOOD_EVERY_TICKS = 3;
  private static final int KILL_EVERY_TICKS = 16;
  private static final int TERMINATE_EVERY_TICKS = 13;
  private static final int FORGED_CANCEL_EVERY_TICKS = 5;
  private static final int BURST_EVERY_TICKS = 21;
  private static final int BURST_SIZE = 250;

  /**
   * Good jobs are killed under, exited under, and cut off from the database with their worker, and
   * each such death spends the attempt it interrupted (as it must: the death may be the job's own
   * doing). They get attempts enough to outlive the chaos; bad jobs get few, to end soon.
   */
  private static final int GOOD_MAX_ATTEMPTS = 25;

  private static final int BAD_MAX_ATTEMPTS = 2;

  /**
   * Whether the chaos includes payloads the worker could not decode as this test was written
   * (nesting deeper than Jackson's 1000 levels; a number longer than its 1000 digits), asserting
   * only that they end final and harm nobody. Before per-job decoding of claimed rows, one such row
   * fails the claim of its whole batch ("claim failed unexpectedly" in the worker log), and its
   * innocent batch mates each lose an attempt to the rescuer: this test still passes then, as good
   * jobs have attempts to spare for the chaos, so the decode tests are what prove per-job decoding.
   * Set to false to leave them out.
   */
  static final boolean INCLUDE_UNDECODABLE_PAYLOADS = true;

  /**
   * What the chaos submits: the plugin, its payload, the status it must end in (null: any final
   * one) and words its error must hold when it fails (unless its worker died under its last
   * attempt: then that is the error).
   */
  enum Kind {
    GOOD("counted", "completed", null),
    GOOD_LONG("counted", "completed", null),
    THROWS("throws", "failed", TestPlugins.Throwing.MESSAGE),
    HANGS_PAST_TIMEOUT("slow", "failed", "timed out"),
    IGNORES_INTERRUPT_PAST_TIMEOUT("stubborn", "failed", "timed out"),
    IGNORES_INTERRUPT_AND_IS_CANCELLED("stubborn", "cancelled", null),
    CALLS_SYSTEM_EXIT("exit", "failed", "exited while running the job"),
    NUL_IN_RESULT("unwritable", "failed", "result could not be recorded"),
    LONE_SURROGATE_IN_RESULT("unwritable", "failed", "result could not be recorded"),
    OVERSIZED_RESULT("unwritable", "failed", "over the worker's limit"),
    NUL_IN_PROGRESS("bad-progress", "completed", null),
    LONE_SURROGATE_IN_PROGRESS("bad-progress", "completed", null),
    HUGE_EXCEPTION_MESSAGE("huge-error", "failed", "[truncated, "),
    UNDECODABLE_NESTING("counted", null, null),
    UNDECODABLE_NUMBER("counted", null, null);

    final String plugin;
    final String expected;
    final String errorWords;

    Kind(String plugin, String expected, String errorWords) {
      this.plugin = plugin;
      this.expected = expected;
      this.errorWords = errorWords;
    }

    boolean good() {
      return this == GOOD || this == GOOD_LONG;
    }
  }

  private LoginRoles roles;
  private ScheduledExecutorService chaosThread;

  @AfterEach
  void stopChaosAndDropRoles() throws InterruptedException {
    if (chaosThread != null) {
      chaosThread.shutdownNow();
      chaosThread.awaitTermination(60, TimeUnit.SECONDS);
    }
    if (roles != null) {
      roles.close();
    }
  }

  @Test
  void badJobsPluginsMessagesAndRolesNeverHarmAnotherJob(TestDatabase testDatabase)
      throws InterruptedException {
    long startedNanos = System.nanoTime();
    db = ItDatabase.of(testDatabase).prepare();
    prepareEvidence();
    roles = new LoginRoles(testDatabase);
    String nobody = roles.create("chaos_nobody");
    WorkerOptions options =
        db.workerOptions()
            .withConcurrency(CONCURRENCY)
            .withLease(Duration.ofSeconds(3), Duration.ofMillis(500))
            .withRescue(Duration.ofMillis(500))
            .withDrain(Duration.ofSeconds(2));
    Chaos chaos = new Chaos(options, nobody);
    for (int i = 0; i < WORKERS; i++) {
      chaos.startWorker(i);
    }
    chaos.workers.forEach(WorkerProcess::awaitReady);

    chaosThread =
        Executors.newSingleThreadScheduledExecutor(
            runnable -> new Thread(runnable, "chaos-driver"));
    chaosThread.scheduleWithFixedDelay(chaos::tick, 0, TICK.toMillis(), TimeUnit.MILLISECONDS);
    await("the chaos is over")
        .atMost(CHAOS.plus(Duration.ofMinutes(2)))
        .pollInterval(Duration.ofSeconds(1))
        .until(() -> chaos.settling || chaos.failure.get() != null);
    assertNoDriverFailure(chaos);
    long chaosOverNanos = System.nanoTime();

    // The driver still replaces workers that die (a bad job's retry may exit one) and cancels
    // the stubborn jobs meant to be cancelled, until every job is final.
    await("every job final")
        .atMost(Duration.ofMinutes(3))
        .pollInterval(Duration.ofSeconds(1))
        .untilAsserted(
            () -> {
              assertNoDriverFailure(chaos);
              assertThat(
                      db.query(
                          "SELECT c.kind || ' ' || j.id || ' ' || j.status || ' attempt '"
                              + " || j.attempt || ' run_at ' || j.run_at"
                              + " FROM chaos_jobs c JOIN taskbroker.jobs j ON j.id = c.id"
                              + " WHERE j.status NOT IN ('completed', 'failed', 'cancelled')"
                              + " ORDER BY j.run_at LIMIT 20",
                          row -> row.getString(1)))
                  .as("jobs not final yet")
                  .isEmpty();
            });
    chaosThread.shutdown();
    assertThat(chaosThread.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
    assertNoDriverFailure(chaos);
    long settledNanos = System.nanoTime();

    long rerun =
        db.count(
            "SELECT count(*) FROM (SELECT e.job_id FROM it_executions e"
                + " JOIN chaos_jobs c ON c.id = e.job_id AND c.kind IN ('GOOD', 'GOOD_LONG')"
                + " GROUP BY e.job_id HAVING count(*) > 1) x");
    long finishedUnwritten =
        db.count(
            "SELECT count(*) FROM it_finished f JOIN taskbroker.jobs j ON j.id = f.job_id"
                + " WHERE f.attempt <> j.attempt");
    System.out.printf(
        "ChaosIT: %.0f s until settled (chaos %d s, then settling %.0f s): %d good jobs (%d ran"
            + " more than once, %d finished executions whose worker died before the write), bad"
            + " jobs %s; %d SIGKILLs, %d worker exits %s, %d restarts, %d termination rounds"
            + " (%d worker connections), %d forged cancels of running good jobs, %d bursts of %d"
            + " forged new-job notifications; undecodable payloads %s%n",
        seconds(settledNanos - startedNanos),
        CHAOS.toSeconds(),
        seconds(settledNanos - chaosOverNanos),
        chaos.submitted.getOrDefault(Kind.GOOD, 0)
            + chaos.submitted.getOrDefault(Kind.GOOD_LONG, 0),
        rerun,
        finishedUnwritten,
        chaos.badSubmitted(),
        chaos.kills,
        chaos.exitCodes.size(),
        chaos.exitCodes,
        chaos.restarts,
        chaos.terminations,
        chaos.backendsTerminated,
        chaos.forgedCancels,
        chaos.bursts,
        BURST_SIZE,
        INCLUDE_UNDECODABLE_PAYLOADS ? "included" : "left out");

    assertGoodJobsCompletedExactlyOnce();
    assertForgedNotificationsHarmedNobody(chaos);
    assertBadJobsEndedFinalWithAClearError();
    assertNoWorkerIsHalfAlive(chaos);
    assertThat(
            db.count("SELECT count(*) FROM taskbroker.jobs WHERE status IN ('pending', 'running')"))
        .as("jobs left pending or running")
        .isZero();

    // The chaos really happened.
    assertThat(chaos.kills).as("SIGKILLs").isGreaterThanOrEqualTo(3);
    assertThat(chaos.exitCodes).as("exit codes of dead workers").contains(5);
    assertThat(chaos.backendsTerminated).as("worker connections terminated").isPositive();
    assertThat(chaos.forgedCancels).as("forged cancels of running good jobs").isPositive();
    assertThat(chaos.bursts).as("forged bursts of new-job notifications").isPositive();
    System.out.printf(
        "ChaosIT: all checks passed, %.0f s in all%n", seconds(System.nanoTime() - startedNanos));
  }

  private static double seconds(long nanos) {
    return nanos / 1e9;
  }

  private static void assertNoDriverFailure(Chaos chaos) {
    Throwable failure = chaos.failure.get();
    if (failure != null) {
      throw new AssertionError("the chaos driver failed: " + failure, failure);
    }
  }

  /**
   * The jobs the chaos submitted, and every write that moved a job into or out of a final state, as
   * the database saw it: evidence kept apart from the jobs row, so that a second completion (which
   * would leave the row looking fine) still shows.
   */
  private void prepareEvidence() {
    db.execute(
        "CREATE TABLE chaos_jobs (id uuid PRIMARY KEY, kind text NOT NULL,"
            + " submitted_at timestamptz NOT NULL DEFAULT clock_timestamp())");
    db.execute("CREATE TABLE chaos_forged (job_id uuid NOT NULL, worker_id text NOT NULL)");
    db.execute(
        "CREATE TABLE it_final_writes (job_id uuid NOT NULL, old_status text NOT NULL,"
            + " new_status text NOT NULL, attempt int NOT NULL, worker_id text, result jsonb,"
            + " at timestamptz NOT NULL DEFAULT clock_timestamp())");
    // Qualified names and a search_path of its own: taskbroker's SECURITY DEFINER functions
    // (cancel) run with search_path = pg_catalog, pg_temp.
    db.execute(
        "CREATE FUNCTION public.it_record_final_write() RETURNS trigger LANGUAGE plpgsql"
            + " SET search_path = pg_catalog AS $$ BEGIN"
            + " INSERT INTO public.it_final_writes"
            + " (job_id, old_status, new_status, attempt, worker_id, result)"
            + " VALUES (NEW.id, OLD.status, NEW.status, NEW.attempt, NEW.worker_id,"
            + " CASE WHEN NEW.status = 'completed' THEN NEW.result END);"
            + " RETURN NULL; END $$");
    db.execute(
        "CREATE TRIGGER it_final_writes AFTER UPDATE ON taskbroker.job_queue FOR EACH ROW"
            + " WHEN (OLD.status IS DISTINCT FROM NEW.status"
            + " AND (NEW.status IN ('completed', 'failed', 'cancelled')"
            + " OR OLD.status IN ('completed', 'failed', 'cancelled')))"
            + " EXECUTE FUNCTION public.it_record_final_write()");
  }

  /**
   * "Exactly once", given at-least-once delivery: an execution of a good job may START more than
   * once (its worker was SIGKILLed or exited under it, or lost its connections long enough for its
   * lease to expire; it may even have FINISHED its work and died before the write). What must hold
   * exactly once is the outcome: the row moved into a final state exactly once, into {@code
   * completed}, and never out of it again (the trigger's evidence, which a second, stale completion
   * would break even if the row looked right); the recorder saw at least one start and no more
   * starts than attempts (each claim spends one); and the result written is that of exactly one
   * recorded finished execution, the one of the row's last attempt on the worker the result names.
   * Every other finished execution of the job belongs to an earlier attempt, whose write never
   * landed.
   */
  private void assertGoodJobsCompletedExactlyOnce() {
    String good =
        " FROM chaos_jobs c JOIN taskbroker.jobs j ON j.id = c.id"
            + " WHERE c.kind IN ('GOOD', 'GOOD_LONG') AND ";
    assertThat(
            ids(
                "SELECT c.kind || ' ' || j.id || ' ' || j.status || ': ' || coalesce(j.error, '')"
                    + good
                    + "j.status <> 'completed'"))
        .as("good jobs that did not complete")
        .isEmpty();
    assertThat(
            ids(
                "SELECT j.id::text"
                    + good
                    + "((SELECT count(*) FROM it_final_writes w WHERE w.job_id = j.id) <> 1"
                    + " OR NOT EXISTS (SELECT 1 FROM it_final_writes w WHERE w.job_id = j.id"
                    + "   AND w.new_status = 'completed' AND w.attempt = j.attempt"
                    + "   AND w.result = j.result))"))
        .as("good jobs not moved into completed exactly once, by the write of their last attempt")
        .isEmpty();
    assertThat(
            ids(
                "SELECT j.id || ': ' || (SELECT count(*) FROM it_executions e"
                    + " WHERE e.job_id = j.id) || ' starts, attempt ' || j.attempt"
                    + good
                    + "(SELECT count(*) FROM it_executions e WHERE e.job_id = j.id)"
                    + " NOT BETWEEN 1 AND j.attempt"))
        .as("good jobs with no recorded start, or more starts than attempts")
        .isEmpty();
    assertThat(
            ids(
                "SELECT j.id || ' result ' || j.result::text"
                    + good
                    + "((j.result ->> 'attempt')::int IS DISTINCT FROM j.attempt"
                    + " OR (SELECT count(*) FROM it_finished f WHERE f.job_id = j.id"
                    + "     AND f.attempt = j.attempt AND f.worker = j.result ->> 'worker') <> 1"
                    + " OR EXISTS (SELECT 1 FROM it_finished f WHERE f.job_id = j.id"
                    + "     AND f.attempt >= j.attempt AND f.worker <> j.result ->> 'worker'))"))
        .as("good jobs whose result is not exactly one recorded finish, of their last attempt")
        .isEmpty();
  }

  /**
   * A forged cancel (for a running good job, with or without its worker's id, or nonsense) never
   * cancelled anything: those jobs completed, no cancel was recorded for them. Bursts of forged
   * new-job notifications cost claims, not jobs (every job is accounted for elsewhere).
   */
  private void assertForgedNotificationsHarmedNobody(Chaos chaos) {
    assertThat(
            ids(
                "SELECT DISTINCT j.id || ' ' || j.status FROM chaos_forged f"
                    + " JOIN taskbroker.jobs j ON j.id = f.job_id"
                    + " WHERE j.status <> 'completed' OR j.cancel_requested_at IS NOT NULL"))
        .as("good jobs a forged cancel reached")
        .isEmpty();
    assertThat((long) chaos.forgedCancels).isEqualTo(db.count("SELECT count(*) FROM chaos_forged"));
  }

  /**
   * Each bad job ended in the state its badness calls for (a job whose plugin misbehaves fails; a
   * stubborn one that is cancelled is cancelled; odd progress costs nothing), with its error
   * bounded and saying what happened: the plugin's own failure, or, when the chaos killed its
   * worker under its last attempt, the worker's loss. No job went final twice (checked with the
   * good jobs' evidence for all).
   */
  private void assertBadJobsEndedFinalWithAClearError() {
    List<String> wrongState =
        ids(
            "SELECT c.kind || ' ' || j.id || ' ended ' || j.status || ': '"
                + " || left(coalesce(j.error, ''), 300)"
                + " FROM chaos_jobs c JOIN taskbroker.jobs j ON j.id = c.id"
                + " WHERE j.status <> CASE c.kind "
                + expectedStatusCases()
                + " ELSE j.status END");
    assertThat(wrongState).as("bad jobs not in the final state their badness calls for").isEmpty();
    assertThat(
            ids(
                "SELECT j.id::text FROM chaos_jobs c JOIN taskbroker.jobs j ON j.id = c.id"
                    + " WHERE (SELECT count(*) FROM it_final_writes w WHERE w.job_id = j.id"
                    + "   AND w.new_status IN ('completed', 'failed', 'cancelled')) <> 1"
                    + " OR EXISTS (SELECT 1 FROM it_final_writes w WHERE w.job_id = j.id"
                    + "   AND w.old_status IN ('completed', 'failed', 'cancelled'))"))
        .as("jobs that went final more than once, or left a final state")
        .isEmpty();

    record Failure(Kind kind, UUID id, String error, String lastKind) {}
    List<Failure> failures =
        db.query(
            "SELECT c.kind, j.id, j.error, j.errors -> -1 ->> 'kind'"
                + " FROM chaos_jobs c JOIN taskbroker.jobs j ON j.id = c.id"
                + " WHERE j.status = 'failed'",
            row ->
                new Failure(
                    Kind.valueOf(row.getString(1)),
                    row.getObject(2, UUID.class),
                    row.getString(3),
                    row.getString(4)));
    List<String> unclear = new ArrayList<>();
    for (Failure failure : failures) {
      String error = failure.error() == null ? "" : failure.error();
      boolean bounded = error.length() <= Completer.MAX_ERROR_CHARS + 64;
      boolean workerDied =
          "worker_lost".equals(failure.lastKind()) || "worker_exit".equals(failure.lastKind());
      boolean says =
          failure.kind().errorWords == null
              ? !error.isBlank()
              : error.contains(failure.kind().errorWords);
      if (!bounded || error.isBlank() || !(says || workerDied)) {
        unclear.add(
            failure.kind()
                + " "
                + failure.id()
                + " ("
                + failure.lastKind()
                + ", "
                + error.length()
                + " chars): "
                + error.substring(0, Math.min(300, error.length())));
      }
    }
    assertThat(unclear).as("failed jobs without a clear, bounded error").isEmpty();
  }

  private static String expectedStatusCases() {
    StringBuilder cases = new StringBuilder();
    for (Kind kind : Kind.values()) {
      if (kind.expected != null) {
        cases.append(" WHEN '").append(kind.name()).append("' THEN '");
        cases.append(kind.expected).append("'");
      }
    }
    return cases.toString();
  }

  /**
   * Every worker process still alive is healthy by its row and claims (a batch of probe jobs lands
   * on each of them: more than all their slots together hold at once); every one that died exited
   * non-zero; no row says failed for a process that still runs.
   */
  private void assertNoWorkerIsHalfAlive(Chaos chaos) {
    // The last replacements may still be starting, or may fail to (a terminated connection
    // under their registration): each ends ready or gone.
    await("every worker process ready or gone")
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(500))
        .until(
            () ->
                chaos.workers.stream()
                    .allMatch(process -> !process.isAlive() || process.outputContains("READY ")));
    List<Integer> exitCodes = new ArrayList<>(chaos.exitCodes);
    chaos.workers.stream()
        .filter(process -> !process.isAlive())
        .forEach(process -> exitCodes.add(process.process().exitValue()));
    assertThat(exitCodes).as("exit codes of the workers that died").doesNotContain(0);
    List<WorkerProcess> alive = chaos.workers.stream().filter(WorkerProcess::isAlive).toList();
    assertThat(alive).as("live workers").isNotEmpty();
    Set<String> aliveIds = new HashSet<>();
    alive.forEach(process -> aliveIds.add(process.id()));
    await("every live worker's row healthy")
        .atMost(Duration.ofSeconds(30))
        .pollInterval(Duration.ofMillis(500))
        .untilAsserted(
            () ->
                assertThat(
                        db.query(
                            "SELECT id, status FROM taskbroker.workers WHERE id = ANY (?)",
                            row -> row.getString(1) + " " + row.getString(2),
                            (Object) aliveIds.toArray(new String[0])))
                    .containsExactlyInAnyOrderElementsOf(
                        aliveIds.stream().map(id -> id + " healthy").toList()));

    int probes = alive.size() * CONCURRENCY * 2;
    db.execute(
        "INSERT INTO chaos_jobs (id, kind) SELECT taskbroker.submit('counted',"
            + " '{\"min_ms\": 1500, \"max_ms\": 2000}'::jsonb), 'PROBE'"
            + " FROM generate_series(1, "
            + probes
            + ")");
    await("the probe jobs completed")
        .atMost(Duration.ofSeconds(90))
        .pollInterval(Duration.ofMillis(500))
        .until(
            () ->
                db.count(
                        "SELECT count(*) FROM chaos_jobs c JOIN taskbroker.jobs j ON j.id = c.id"
                            + " WHERE c.kind = 'PROBE' AND j.status = 'completed'")
                    == probes);
    assertThat(
            db.query(
                "SELECT DISTINCT j.result ->> 'worker' FROM chaos_jobs c"
                    + " JOIN taskbroker.jobs j ON j.id = c.id WHERE c.kind = 'PROBE'",
                row -> row.getString(1)))
        .as("workers that claimed probe jobs")
        .containsExactlyInAnyOrderElementsOf(aliveIds);
    assertThat(
            db.query(
                "SELECT id FROM taskbroker.workers WHERE status = 'failed' AND id = ANY (?)",
                row -> row.getString(1),
                (Object) aliveIds.toArray(new String[0])))
        .as("live workers whose row says failed")
        .isEmpty();
    assertThat(alive).allSatisfy(process -> assertThat(process.isAlive()).isTrue());
  }

  private List<String> ids(String sql) {
    return db.query(sql, row -> row.getString(1));
  }

  /**
   * The chaos driver. Runs on its own thread only (it alone touches the fleet and its counters
   * until the test has stopped its executor). A tick never throws: the first failure is kept for
   * the test thread, and the driver stops acting.
   */
  private final class Chaos {
    private final WorkerOptions options;
    private final String nobody;
    final List<WorkerProcess> workers = new ArrayList<>();
    private final Set<WorkerProcess> ready = new HashSet<>();
    final AtomicReference<Throwable> failure = new AtomicReference<>();
    final Map<Kind, Integer> submitted = new EnumMap<>(Kind.class);
    final List<Integer> exitCodes = new ArrayList<>();
    private final long startNanos = System.nanoTime();
    private final List<Kind> badKinds = new ArrayList<>();
    volatile boolean settling;
    private long tick;
    private int goodIndex;
    private int started;
    int kills;
    int restarts;
    int terminations;
    long backendsTerminated;
    int forgedCancels;
    int bursts;

    Chaos(WorkerOptions options, String nobody) {
      this.options = options;
      this.nobody = nobody;
      for (Kind kind : Kind.values()) {
        boolean undecodable = kind == Kind.UNDECODABLE_NESTING || kind == Kind.UNDECODABLE_NUMBER;
        if (!kind.good() && (INCLUDE_UNDECODABLE_PAYLOADS || !undecodable)) {
          badKinds.add(kind);
        }
      }
    }

    void startWorker(int slot) {
      WorkerProcess process = fleet.start("w" + ++started, options);
      if (slot < workers.size()) {
        workers.set(slot, process);
      } else {
        workers.add(process);
      }
    }

    String badSubmitted() {
      Map<Kind, Integer> bad = new EnumMap<>(submitted);
      bad.remove(Kind.GOOD);
      bad.remove(Kind.GOOD_LONG);
      return bad.toString();
    }

    void tick() {
      if (failure.get() != null) {
        return;
      }
      try {
        long n = tick++;
        replaceDeadWorkers();
        if (!settling) {
          for (int i = 0; i < GOOD_PER_TICK; i++) {
            submit(Kind.GOOD);
          }
          if (n % LONG_GOOD_EVERY_TICKS == 0) {
            submit(Kind.GOOD_LONG);
          }
          if (n % BAD_EVERY_TICKS == 0) {
            submit(badKinds.get((int) (n / BAD_EVERY_TICKS) % badKinds.size()));
          }
          if (n % KILL_EVERY_TICKS == KILL_EVERY_TICKS / 2) {
            killOne();
          }
          if (n % TERMINATE_EVERY_TICKS == TERMINATE_EVERY_TICKS - 1) {
            terminateConnections();
          }
          if (n % FORGED_CANCEL_EVERY_TICKS == 2) {
            forgeCancel();
          }
          if (n % BURST_EVERY_TICKS == 7) {
            burst();
          }
          settling = System.nanoTime() - startNanos > CHAOS.toNanos();
        }
        cancelStubbornJobs();
      } catch (Throwable e) {
        failure.compareAndSet(null, e);
      }
    }

    /** As an orchestrator would: a worker that died is replaced by a new process. */
    private void replaceDeadWorkers() {
      for (int slot = 0; slot < workers.size(); slot++) {
        WorkerProcess process = workers.get(slot);
        if (!process.isAlive()) {
          exitCodes.add(process.process().exitValue());
          ready.remove(process);
          startWorker(slot);
          restarts++;
        }
      }
    }

    /** SIGKILL one worker that runs (is ready), if another process is alive (or starting). */
    private void killOne() {
      List<WorkerProcess> running = new ArrayList<>();
      int alive = 0;
      for (WorkerProcess process : workers) {
        if (process.isAlive()) {
          alive++;
          if (ready.contains(process) || process.outputContains("READY ")) {
            ready.add(process);
            running.add(process);
          }
        }
      }
      if (running.isEmpty() || alive < 2) {
        return;
      }
      running.get(ThreadLocalRandom.current().nextInt(running.size())).kill();
      kills++;
    }

    /** Ends about half of the workers' database sessions: pool, LISTEN and all. */
    private void terminateConnections() {
      backendsTerminated +=
          db.count(
              "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                  + " WHERE datname = current_database() AND application_name LIKE 'it-worker%'"
                  + " AND pid <> pg_backend_pid() AND random() < 0.5) x");
      terminations++;
    }

    /**
     * As the role with no privileges: a cancel for a running good job (with its worker's id and
     * without), and control messages that are nonsense.
     */
    private void forgeCancel() throws SQLException {
      List<String[]> victims =
          db.query(
              "SELECT j.id::text, j.worker_id FROM chaos_jobs c JOIN taskbroker.jobs j"
                  + " ON j.id = c.id WHERE c.kind IN ('GOOD', 'GOOD_LONG')"
                  + " AND j.status = 'running'"
                  + " ORDER BY c.kind = 'GOOD_LONG' DESC, random() LIMIT 1",
              row -> new String[] {row.getString(1), row.getString(2)});
      List<String> messages = new ArrayList<>();
      messages.add("{");
      messages.add("{\"action\": \"cancel\", \"job_id\": \"not-a-uuid\"}");
      messages.add("{\"action\": \"cancel\", \"job_id\": \"" + UUID.randomUUID() + "\"}");
      for (String[] victim : victims) {
        messages.add(cancelMessage(victim[0], victim[1]));
        messages.add(cancelMessage(victim[0], null));
        db.execute(
            "INSERT INTO chaos_forged (job_id, worker_id) VALUES (CAST(? AS uuid), ?)",
            victim[0],
            victim[1]);
        forgedCancels++;
      }
      notifyAsNobody("taskbroker_control", messages);
    }

    private String cancelMessage(String jobId, String workerId) {
      var message = Json.object().put("action", "cancel").put("job_id", jobId);
      if (workerId != null) {
        message.put("worker_id", workerId);
      }
      return Json.write(message);
    }

    /** A burst of new-job notifications, one transaction each, as the role with no privileges. */
    private void burst() throws SQLException {
      List<String> payloads = new ArrayList<>();
      String[] kinds = {"default", "*", "no-such-queue", ""};
      for (int i = 0; i < BURST_SIZE; i++) {
        payloads.add(kinds[i % kinds.length]);
      }
      notifyAsNobody("taskbroker_new_job", payloads);
      bursts++;
    }

    private void notifyAsNobody(String channel, List<String> payloads) throws SQLException {
      try (Connection connection = roles.connect(nobody);
          PreparedStatement notify = connection.prepareStatement("SELECT pg_notify(?, ?)")) {
        for (String payload : payloads) {
          notify.setString(1, channel);
          notify.setString(2, payload);
          notify.execute();
        }
      }
    }

    /**
     * The stubborn jobs meant to be cancelled are, once they run (or, while settling, whatever they
     * are doing): the cancel decides at once though the plugin never stops.
     */
    private void cancelStubbornJobs() {
      List<UUID> due =
          db.query(
              "SELECT j.id FROM chaos_jobs c JOIN taskbroker.jobs j ON j.id = c.id"
                  + " WHERE c.kind = 'IGNORES_INTERRUPT_AND_IS_CANCELLED'"
                  + " AND j.status IN ('pending', 'running') AND j.cancel_requested_at IS NULL"
                  + " AND (? OR (j.status = 'running'"
                  + "  AND j.started_at < clock_timestamp() - interval '300 milliseconds'))",
              row -> row.getObject(1, UUID.class),
              settling);
      for (UUID id : due) {
        db.query("SELECT taskbroker.cancel(?)", row -> row.getString(1), id);
      }
    }

    private void submit(Kind kind) {
      String payload;
      Integer timeoutMs = null;
      int maxAttempts = BAD_MAX_ATTEMPTS;
      switch (kind) {
        case GOOD -> {
          payload = goodPayload(goodIndex++);
          maxAttempts = GOOD_MAX_ATTEMPTS;
        }
        case GOOD_LONG -> {
          payload = "{\"min_ms\": 2500, \"max_ms\": 3500}";
          maxAttempts = GOOD_MAX_ATTEMPTS;
        }
        case THROWS, CALLS_SYSTEM_EXIT, HUGE_EXCEPTION_MESSAGE -> payload = "{}";
        case HANGS_PAST_TIMEOUT -> {
          payload = "{\"sleep_ms\": 60000}";
          timeoutMs = 800;
        }
        case IGNORES_INTERRUPT_PAST_TIMEOUT -> {
          payload = "{\"max_ms\": 4000}";
          timeoutMs = 800;
        }
        // Never done by itself within the test: only the cancel can end it.
        case IGNORES_INTERRUPT_AND_IS_CANCELLED -> payload = "{\"max_ms\": 600000}";
        case NUL_IN_RESULT -> payload = "{\"kind\": \"nul\"}";
        case LONE_SURROGATE_IN_RESULT -> payload = "{\"kind\": \"surrogate\"}";
        case OVERSIZED_RESULT -> payload = "{\"kind\": \"oversized\"}";
        case NUL_IN_PROGRESS -> payload = "{\"kind\": \"nul\"}";
        case LONE_SURROGATE_IN_PROGRESS -> payload = "{\"kind\": \"surrogate\"}";
        case UNDECODABLE_NESTING ->
            payload = "{\"nested\": " + "[".repeat(3_000) + "1" + "]".repeat(3_000) + "}";
        case UNDECODABLE_NUMBER -> payload = "{\"number\": " + "7".repeat(3_000) + "}";
        default -> throw new IllegalArgumentException(kind.name());
      }
      db.execute(
          "INSERT INTO chaos_jobs (id, kind) VALUES (taskbroker.submit(?, CAST(? AS jsonb),"
              + " max_attempts => ?, timeout_ms => ?), ?)",
          kind.plugin,
          payload,
          maxAttempts,
          timeoutMs,
          kind.name());
      submitted.merge(kind, 1, Integer::sum);
    }

    /**
     * Short runs with payloads a worker must carry exactly but that break naive code: nesting
     * (within what any parser takes), a 900-digit integer, long decimals, unusual characters, and
     * now and then a 2 MB string.
     */
    private String goodPayload(int index) {
      String timing = "\"min_ms\": 20, \"max_ms\": 300, \"i\": " + index;
      String odd =
          switch (index % 8) {
            case 0 -> "\"nested\": " + "[".repeat(200) + "{\"deep\": true}" + "]".repeat(200);
            case 1 -> "\"big\": " + "9".repeat(900);
            case 2 -> "\"decimal\": 0." + "0".repeat(60) + "1, \"tiny\": 1e-300, \"neg\": -0.0";
            case 3 -> "\"text\": \"quote \\\" backslash \\\\ line\\u2028sep \\ud83d\\ude00 \\t\"";
            default -> "\"plain\": true";
          };
      String huge = index % 250 == 125 ? ", \"huge\": \"" + "h".repeat(2_000_000) + "\"" : "";
      return "{" + timing + ", " + odd + huge + "}";
    }
  }
}
