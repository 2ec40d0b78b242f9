package io.taskbroker.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.common.Json;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The bench's own view of the database, on one autocommit connection outside the pool: server
 * version and settings, the counters a workload's cost is computed from, and the statements that
 * verify and clean up a bench queue. Every statement names the bench queue; nothing here touches
 * another queue's jobs. Not thread-safe (one connection); used by the bench thread only.
 */
final class BenchDatabase implements AutoCloseable {
  static final List<String> SETTINGS =
      List.of(
          "shared_buffers",
          "synchronous_commit",
          "fsync",
          "wal_sync_method",
          "max_connections",
          "full_page_writes",
          "commit_delay",
          "wal_level",
          "max_wal_size",
          "checkpoint_timeout",
          "autovacuum");

  /**
   * Counters at one moment. {@code xactCommit} is per database (pg_stat_database), the rest are
   * cluster-wide, so other databases' activity shows in them.
   */
  record Counters(long xactCommit, long walLsn, long nextXid, long walSyncs, long walRecords) {}

  /**
   * The hot table's health at one moment: tuple counts, updates and (auto)vacuum runs of job_queue
   * from pg_stat_user_tables, sizes of its main fork, the claim index and all its indexes, and of
   * the whole history (every partition with its indexes), in bytes. Sizes are -1 where a relation
   * is missing, {@code lastAutovacuum} null when never.
   */
  record TableHealth(
      Instant at,
      long liveTuples,
      long deadTuples,
      long updates,
      long tableBytes,
      long claimIndexBytes,
      long indexesBytes,
      long vacuumCount,
      long autovacuumCount,
      Instant lastAutovacuum,
      long autoanalyzeCount,
      long historyBytes) {

    ObjectNode toJson() {
      ObjectNode json = Json.object();
      json.put("at", at.toString());
      json.put("n_live_tup", liveTuples);
      json.put("n_dead_tup", deadTuples);
      json.put("n_tup_upd", updates);
      json.put("table_bytes", tableBytes);
      json.put("claim_index_bytes", claimIndexBytes);
      json.put("indexes_bytes", indexesBytes);
      json.put("history_bytes", historyBytes);
      json.put("vacuum_count", vacuumCount);
      json.put("autovacuum_count", autovacuumCount);
      json.put("last_autovacuum", lastAutovacuum == null ? null : lastAutovacuum.toString());
      json.put("autoanalyze_count", autoanalyzeCount);
      return json;
    }
  }

  private final Connection connection;
  private final int versionNum;
  // Statements this connection ran: each is a commit in xact_commit, which counters() subtracts
  // so that the bench's own reads do not count as the workload's commits.
  private long ownStatements;

  BenchDatabase(Connection connection) throws SQLException {
    this.connection = connection;
    connection.setAutoCommit(true);
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            run(statement).executeQuery("SELECT current_setting('server_version_num')::int")) {
      rs.next();
      this.versionNum = rs.getInt(1);
    }
  }

  /** Version, the settings that matter, the database and connection count. */
  ObjectNode describeServer() throws SQLException {
    ObjectNode server = Json.object();
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            run(statement)
                .executeQuery(
                    "SELECT version(), current_setting('server_version_num')::int,"
                        + " current_database(), inet_server_addr()::text, inet_server_port()")) {
      rs.next();
      server.put("version", rs.getString(1));
      server.put("version_num", rs.getInt(2));
      server.put("database", rs.getString(3));
      server.put("address", rs.getString(4));
      server.put("port", rs.getInt(5));
    }
    ObjectNode settings = server.putObject("settings");
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY (?)")) {
      statement.setArray(1, connection.createArrayOf("text", SETTINGS.toArray()));
      Map<String, String> found = new LinkedHashMap<>();
      try (ResultSet rs = run(statement).executeQuery()) {
        while (rs.next()) {
          found.put(rs.getString(1), rs.getString(2));
        }
      }
      for (String name : SETTINGS) {
        if (found.containsKey(name)) {
          settings.put(name, found.get(name));
        }
      }
    }
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            run(statement)
                .executeQuery(
                    "SELECT count(*) FILTER (WHERE datname = current_database()),"
                        + " count(*) FILTER (WHERE backend_type = 'client backend')"
                        + " FROM pg_stat_activity")) {
      rs.next();
      server.put("sessions_in_database_at_start", rs.getInt(1));
      server.put("client_sessions_at_start", rs.getInt(2));
    }
    return server;
  }

  /**
   * Reads the counters. {@code xactCommit} leaves out this connection's own statements; other
   * sessions flush their statistics within about a second of going idle, and when they exit.
   */
  Counters counters() throws SQLException {
    // So that the read below sees every statement this connection ran before it.
    flushOwnStatistics();
    // pg_stat_wal is PostgreSQL 14+; pg_current_snapshot 13+.
    String wal =
        versionNum >= 140000
            ? " (SELECT wal_sync FROM pg_stat_wal), (SELECT wal_records FROM pg_stat_wal)"
            : " -1, -1";
    long ownBefore = ownStatements;
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            run(statement)
                .executeQuery(
                    "SELECT (SELECT xact_commit FROM pg_stat_database"
                        + "         WHERE datname = current_database()),"
                        + " pg_current_wal_insert_lsn()::text,"
                        + " pg_snapshot_xmax(pg_current_snapshot())::text::bigint,"
                        + wal)) {
      rs.next();
      return new Counters(
          rs.getLong(1) - ownBefore,
          parseLsn(rs.getString(2)),
          rs.getLong(3),
          rs.getLong(4),
          rs.getLong(5));
    }
  }

  /**
   * Reads the counters once the statistics of sessions that just ended or went idle have landed:
   * waits until no session of {@code applicationPrefix} is left and two reads agree, for at most a
   * few seconds. The WAL position is taken from the first read.
   */
  Counters settledCounters(String applicationPrefix) throws SQLException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(8);
    Counters first = counters();
    while (System.nanoTime() < deadline && sessions(applicationPrefix) > 0) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
    }
    Counters previous = counters();
    while (System.nanoTime() < deadline) {
      // Idle sessions flush their statistics within PGSTAT_MIN_INTERVAL (1 s) of going idle.
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1100));
      Counters next = counters();
      if (next.xactCommit() == previous.xactCommit()) {
        break;
      }
      previous = next;
    }
    return new Counters(
        previous.xactCommit(),
        first.walLsn(),
        first.nextXid(),
        previous.walSyncs(),
        first.walRecords());
  }

  int sessions(String applicationPrefix) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT count(*) FROM pg_stat_activity"
                + " WHERE datname = current_database() AND application_name LIKE ?")) {
      statement.setString(1, applicationPrefix + "%");
      try (ResultSet rs = run(statement).executeQuery()) {
        rs.next();
        return rs.getInt(1);
      }
    }
  }

  /**
   * Process ids of this database's sessions whose application name is LIKE {@code
   * applicationPattern}, when the server runs on this host (they are then local processes whose CPU
   * time can be read); otherwise empty.
   */
  List<Long> localBackendPids(String applicationPattern) throws SQLException {
    List<Long> pids = new java.util.ArrayList<>();
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT pid FROM pg_stat_activity"
                + " WHERE datname = current_database() AND application_name LIKE ?")) {
      statement.setString(1, applicationPattern);
      try (ResultSet rs = run(statement).executeQuery()) {
        while (rs.next()) {
          pids.add(rs.getLong(1));
        }
      }
    }
    // A pid only means something here if that local process is a PostgreSQL backend.
    return pids.stream()
        .filter(
            pid ->
                ProcessHandle.of(pid)
                    .flatMap(handle -> handle.info().command())
                    .map(command -> command.contains("postgres"))
                    .orElse(false))
        .toList();
  }

  /**
   * When each job's claim transaction started ({@code started_at}), in epoch microseconds, by id;
   * jobs not found or never claimed are absent.
   */
  Map<java.util.UUID, Long> claimStartMicros(List<java.util.UUID> ids) throws SQLException {
    Map<java.util.UUID, Long> starts = new java.util.HashMap<>();
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT id, (extract(epoch FROM started_at) * 1000000)::bigint"
                + " FROM taskbroker.jobs WHERE id = ANY (?) AND started_at IS NOT NULL")) {
      statement.setArray(1, connection.createArrayOf("uuid", ids.toArray()));
      try (ResultSet rs = run(statement).executeQuery()) {
        while (rs.next()) {
          starts.put(rs.getObject(1, java.util.UUID.class), rs.getLong(2));
        }
      }
    }
    return starts;
  }

  /**
   * Reads the health of {@code taskbroker.job_queue}, with this session's own counts flushed first.
   * Another session's counts reach pg_stat_user_tables later: when it goes idle at least a second
   * after its last report, else 10 s after going idle, and when it exits (see {@link
   * #awaitJobsUpdates}).
   */
  TableHealth jobsTableHealth() throws SQLException {
    flushOwnStatistics();
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            run(statement)
                .executeQuery(
                    "SELECT clock_timestamp(), s.n_live_tup, s.n_dead_tup, s.n_tup_upd,"
                        + " coalesce(pg_relation_size(to_regclass('taskbroker.job_queue')), -1),"
                        + " coalesce(pg_relation_size(to_regclass('taskbroker.jobs_claim_idx')),"
                        + "          -1),"
                        + " coalesce(pg_indexes_size(to_regclass('taskbroker.job_queue')), -1),"
                        + " s.vacuum_count, s.autovacuum_count, s.last_autovacuum,"
                        + " s.autoanalyze_count,"
                        + " (SELECT coalesce(sum(pg_total_relation_size(i.inhrelid)), 0)"
                        + "    FROM pg_inherits i"
                        + "   WHERE i.inhparent = 'taskbroker.job_history'::regclass)"
                        + " FROM pg_stat_user_tables s"
                        + " WHERE s.relid = 'taskbroker.job_queue'::regclass")) {
      if (!rs.next()) {
        throw new SQLException("taskbroker.job_queue is not in pg_stat_user_tables");
      }
      OffsetDateTime lastAutovacuum = rs.getObject(10, OffsetDateTime.class);
      return new TableHealth(
          rs.getObject(1, OffsetDateTime.class).toInstant(),
          rs.getLong(2),
          rs.getLong(3),
          rs.getLong(4),
          rs.getLong(5),
          rs.getLong(6),
          rs.getLong(7),
          rs.getLong(8),
          rs.getLong(9),
          lastAutovacuum == null ? null : lastAutovacuum.toInstant(),
          rs.getLong(11),
          rs.getLong(12));
    }
  }

  /**
   * Reads the jobs table's health once pg_stat_user_tables counts at least {@code updates} updates
   * of it, that is once the sessions that made them have reported them (with their dead tuples), or
   * when {@code timeout} has passed.
   *
   * @return the last reading; its {@code updates()} says whether the count was reached
   */
  TableHealth awaitJobsUpdates(long updates, Duration timeout) throws SQLException {
    long deadline = System.nanoTime() + timeout.toNanos();
    TableHealth health = jobsTableHealth();
    while (health.updates() < updates && System.nanoTime() < deadline) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
      health = jobsTableHealth();
    }
    return health;
  }

  /** Whether the server has pg_stat_force_next_flush() (PostgreSQL 15+). */
  boolean reportsStatisticsOnDemand() {
    return versionNum >= 150000;
  }

  /**
   * Makes this session report its pending statistics now (PostgreSQL 15+) rather than up to 10 s
   * later: at the end of this statement, when the session goes idle.
   */
  private void flushOwnStatistics() throws SQLException {
    if (reportsStatisticsOnDemand()) {
      try (Statement statement = connection.createStatement()) {
        run(statement).execute("SELECT pg_stat_force_next_flush()");
      }
    }
  }

  /**
   * Finished jobs (completed, failed or cancelled) in the whole table, every queue: an index-only
   * scan of jobs_finished_idx once the table is vacuumed.
   */
  long finishedJobs() throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            run(statement)
                .executeQuery(
                    "SELECT count(*) FROM taskbroker.jobs WHERE completed_at IS NOT NULL")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /**
   * Inserts completed jobs numbered {@code from} to {@code to} (inclusive) of {@code total} into
   * {@code queue} in one set-based statement, straight into the history (where the worker's mover
   * would have put them). Job n was created at {@code now() - 7 days × (1 - n/total)} less a
   * second, so the history spreads over the past week in the order of its rows, as a real table's
   * does; it waited 1-51 ms for its claim and ran for up to 200 ms.
   *
   * @return rows inserted
   */
  long insertFinishedJobs(String queue, String plugin, long from, long to, long total)
      throws SQLException {
    try (Statement partitions = connection.createStatement()) {
      // The history's daily partitions for the past week, as the worker's mover makes them.
      run(partitions)
          .execute(
              "SELECT taskbroker.history_partition(CAST(d AT TIME ZONE 'UTC' AS date))"
                  + " FROM generate_series(now() - interval '8 days', now(), interval '1 day') d");
    }
    try (PreparedStatement statement = connection.prepareStatement(INSERT_FINISHED_JOBS)) {
      statement.setString(1, queue);
      statement.setString(2, plugin);
      statement.setLong(3, from);
      statement.setLong(4, to);
      statement.setLong(5, total);
      return run(statement).executeLargeUpdate();
    }
  }

  private static final String INSERT_FINISHED_JOBS =
      "INSERT INTO taskbroker.job_history (queue, plugin, payload, status, attempt, run_at, created_at,"
          + " started_at, completed_at, worker_id, heartbeat_at)"
          + " SELECT ?, ?, jsonb_build_object('i', n, 'ref', md5(n::text)), 'completed', 1,"
          + " t.created, t.created, t.created + t.wait, t.created + t.wait + t.run,"
          + " 'bench-history-worker', t.created + t.wait"
          + " FROM generate_series(?::bigint, ?::bigint) AS n,"
          + " LATERAL (SELECT now() - interval '1 second'"
          + "                 - interval '7 days' * (1 - n::float8 / ?) AS created,"
          + "          interval '1 millisecond' * (1 + random() * 50) AS wait,"
          + "          interval '1 millisecond' * (random() * 200) AS run) AS t";

  /** Job counts of one queue by status. */
  Map<String, Long> statusCounts(String queue) throws SQLException {
    Map<String, Long> counts = new LinkedHashMap<>();
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT status, count(*) FROM taskbroker.jobs WHERE queue = ? GROUP BY status"
                + " ORDER BY status")) {
      statement.setString(1, queue);
      try (ResultSet rs = run(statement).executeQuery()) {
        while (rs.next()) {
          counts.put(rs.getString(1), rs.getLong(2));
        }
      }
    }
    return counts;
  }

  /**
   * How many claim and completion statements a drained queue took, and attempts beyond the first.
   * Each claim stamps {@code started_at = now()} and each completion {@code completed_at = now()},
   * the start time of its transaction, so distinct values count transactions.
   */
  ObjectNode statementCounts(String queue) throws SQLException {
    ObjectNode json = Json.object();
    try (PreparedStatement statement =
        connection.prepareStatement(
            // A claim's heartbeat_at is its transaction's now(), in both claims; started_at is
            // clock_timestamp() per row in the limited claim (V5), so it would count jobs there.
            // A drained no-op job is never heartbeated after its claim.
            "SELECT count(DISTINCT heartbeat_at), count(DISTINCT completed_at),"
                + " count(*) FILTER (WHERE attempt > 1), max(attempt)"
                + " FROM taskbroker.jobs WHERE queue = ?")) {
      statement.setString(1, queue);
      try (ResultSet rs = run(statement).executeQuery()) {
        rs.next();
        json.put("claim_transactions", rs.getLong(1));
        json.put("completion_transactions", rs.getLong(2));
        json.put("jobs_with_more_than_one_attempt", rs.getLong(3));
        json.put("max_attempt", rs.getLong(4));
      }
    }
    return json;
  }

  /** Deletes every job of the queue; returns how many. */
  long deleteQueue(String queue) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "WITH live AS (DELETE FROM taskbroker.job_queue WHERE queue = ? RETURNING 1),"
                + " history AS (DELETE FROM taskbroker.job_history WHERE queue = ? RETURNING 1)"
                + " SELECT (SELECT count(*) FROM live) + (SELECT count(*) FROM history)")) {
      statement.setString(1, queue);
      statement.setString(2, queue);
      try (ResultSet rs = run(statement).executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /** Deletes a drain queue's settings and rate log (a queue limited by {@code --queue-limit}). */
  void deleteQueueSettings(String queue) throws SQLException {
    try (PreparedStatement settings =
            connection.prepareStatement("DELETE FROM taskbroker.queues WHERE name = ?");
        PreparedStatement starts =
            connection.prepareStatement("DELETE FROM taskbroker.queue_starts WHERE queue = ?")) {
      settings.setString(1, queue);
      run(settings).executeUpdate();
      starts.setString(1, queue);
      run(starts).executeUpdate();
    }
  }

  /** Deletes worker rows the bench created (a worker killed before deregistering leaves one). */
  void deleteWorkers(String workerIdPrefix) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement("DELETE FROM taskbroker.workers WHERE id LIKE ?")) {
      statement.setString(1, workerIdPrefix + "%");
      run(statement).executeUpdate();
    }
  }

  /**
   * Vacuums job_queue and the history, so each run starts without the previous run's dead rows and
   * a history built by {@link #insertFinishedJobs} is vacuumed and analysed as autovacuum would
   * have done while it grew (else autovacuum visits every partition during the run). A history
   * vacuumed before costs little: its pages are all-visible.
   */
  void vacuumJobs() throws SQLException {
    // VACUUM sets the table's tuple counts; this session's deletes reported after it would
    // count their rows dead again.
    flushOwnStatistics();
    try (Statement statement = connection.createStatement()) {
      run(statement).execute("VACUUM (ANALYZE) taskbroker.job_queue, taskbroker.job_history");
    }
  }

  /** Runs a checkpoint when allowed (superuser or pg_checkpoint), so runs start alike. */
  boolean checkpoint() {
    try (Statement statement = connection.createStatement()) {
      run(statement).execute("CHECKPOINT");
      return true;
    } catch (SQLException e) {
      return false;
    }
  }

  Connection connection() {
    return connection;
  }

  /** Counts a statement about to run on this connection (see {@link #ownStatements}). */
  private <S extends Statement> S run(S statement) {
    ownStatements++;
    return statement;
  }

  @Override
  public void close() throws SQLException {
    connection.close();
  }

  /** {@code X/Y} (hex) as one 64-bit position. */
  static long parseLsn(String lsn) {
    int slash = lsn.indexOf('/');
    long high = Long.parseLong(lsn.substring(0, slash), 16);
    long low = Long.parseLong(lsn.substring(slash + 1), 16);
    return (high << 32) | low;
  }
}
