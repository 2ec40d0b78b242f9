package io.taskbroker.worker.it;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * How to run one {@link WorkerProcess}: the database it talks to and the worker settings the tests
 * vary. Immutable; the {@code with…} methods return copies.
 */
record WorkerOptions(
    String jdbcUrl,
    String user,
    String password,
    int concurrency,
    Duration lease,
    Duration heartbeat,
    Duration rescue,
    Duration poll,
    Duration drain) {

  /** Lease 3 s, heartbeat 500 ms, rescue every 500 ms, poll 500 ms, drain 5 s, four slots. */
  static WorkerOptions of(String jdbcUrl, String user, String password) {
    return new WorkerOptions(
        jdbcUrl,
        user,
        password,
        4,
        Duration.ofSeconds(3),
        Duration.ofMillis(500),
        Duration.ofMillis(500),
        Duration.ofMillis(500),
        Duration.ofSeconds(5));
  }

  WorkerOptions withConcurrency(int value) {
    return new WorkerOptions(jdbcUrl, user, password, value, lease, heartbeat, rescue, poll, drain);
  }

  WorkerOptions withLease(Duration value, Duration heartbeatValue) {
    return new WorkerOptions(
        jdbcUrl, user, password, concurrency, value, heartbeatValue, rescue, poll, drain);
  }

  WorkerOptions withRescue(Duration value) {
    return new WorkerOptions(
        jdbcUrl, user, password, concurrency, lease, heartbeat, value, poll, drain);
  }

  WorkerOptions withDrain(Duration value) {
    return new WorkerOptions(
        jdbcUrl, user, password, concurrency, lease, heartbeat, rescue, poll, value);
  }

  List<String> arguments() {
    List<String> args = new ArrayList<>();
    args.add("--url=" + jdbcUrl);
    args.add("--user=" + user);
    args.add("--password=" + (password == null ? "" : password));
    args.add("--concurrency=" + concurrency);
    args.add("--lease-ms=" + lease.toMillis());
    args.add("--heartbeat-ms=" + heartbeat.toMillis());
    args.add("--rescue-ms=" + rescue.toMillis());
    args.add("--poll-ms=" + poll.toMillis());
    args.add("--drain-ms=" + drain.toMillis());
    return args;
  }
}
