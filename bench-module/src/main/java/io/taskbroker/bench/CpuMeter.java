package io.taskbroker.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.common.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Where the CPU went during a run: the machine as a whole ({@code /proc/stat}: busy, idle, steal)
 * and named processes (their user + system time). Linux only; elsewhere the figures are absent.
 * Used to tell a CPU-bound run from a commit-bound one. Not thread-safe.
 */
final class CpuMeter {
  /** Jiffies of the machine's "cpu" line: busy (user..softirq), idle (+iowait), steal. */
  record Machine(long busy, long idle, long iowait, long steal) {
    long total() {
      return busy + idle + iowait + steal;
    }
  }

  private final Machine machineStart;
  private final Map<Long, Duration> processStart = new HashMap<>();

  private CpuMeter(Machine machineStart) {
    this.machineStart = machineStart;
  }

  /** Starts measuring the machine and these processes (more may be added with {@link #track}). */
  static CpuMeter start(Collection<Long> pids) {
    CpuMeter meter = new CpuMeter(machine());
    meter.track(pids);
    return meter;
  }

  /** Starts tracking processes not yet tracked, from their CPU time now. */
  void track(Collection<Long> pids) {
    for (long pid : pids) {
      processStart.computeIfAbsent(pid, CpuMeter::cpuTime);
    }
  }

  /**
   * CPU seconds the given processes used since they were first tracked; processes first seen now
   * count from zero (they started during the run), processes gone meanwhile are lost.
   */
  double cpuSeconds(Collection<Long> pids) {
    double total = 0;
    for (long pid : pids) {
      Duration start = processStart.getOrDefault(pid, Duration.ZERO);
      total += Math.max(0, cpuTime(pid).minus(start).toNanos() / 1e9);
    }
    return total;
  }

  /** Machine-wide shares since the start: busy, idle, iowait and steal, in percent. */
  ObjectNode machineShares() {
    ObjectNode json = Json.object();
    Machine now = machine();
    long total = now.total() - machineStart.total();
    if (machineStart.total() == 0 || total <= 0) {
      return json;
    }
    json.put("busy_pct", percent(now.busy() - machineStart.busy(), total));
    json.put("idle_pct", percent(now.idle() - machineStart.idle(), total));
    json.put("iowait_pct", percent(now.iowait() - machineStart.iowait(), total));
    json.put("steal_pct", percent(now.steal() - machineStart.steal(), total));
    return json;
  }

  /**
   * CPU seconds of each thread group of a process, from {@code /proc/<pid>/task}: threads are
   * grouped by name without digits ("taskbroker-job-" for every job thread). Assumes 100 clock
   * ticks a second, as on every common Linux. Empty where there is no {@code /proc}.
   */
  static Map<String, Double> threadGroups(long pid) {
    Map<String, Double> groups = new java.util.TreeMap<>();
    try (java.util.stream.Stream<Path> tasks =
        Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
      for (Path task : tasks.toList()) {
        try {
          String stat = Files.readString(task.resolve("stat"));
          int open = stat.indexOf('(');
          int close = stat.lastIndexOf(')');
          String name = stat.substring(open + 1, close).replaceAll("[0-9]+", "#");
          String[] fields = stat.substring(close + 2).split(" ");
          // After the name: state is field 3 of stat(5); utime and stime are 14 and 15.
          long ticks = Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
          groups.merge(name, ticks / 100.0, Double::sum);
        } catch (IOException | RuntimeException e) {
          // The thread ended meanwhile.
        }
      }
    } catch (IOException | RuntimeException e) {
      // Not Linux, or the process is gone.
    }
    return groups;
  }

  /** {@code after - before} per group, rounded to 10 ms, largest first, zeros left out. */
  static ObjectNode difference(Map<String, Double> before, Map<String, Double> after) {
    ObjectNode json = Json.object();
    after.entrySet().stream()
        .map(
            entry ->
                Map.entry(
                    entry.getKey(), entry.getValue() - before.getOrDefault(entry.getKey(), 0.0)))
        .filter(entry -> entry.getValue() > 0.005)
        .sorted(Map.Entry.<String, Double>comparingByValue().reversed())
        .forEach(entry -> json.put(entry.getKey(), Math.round(entry.getValue() * 100) / 100.0));
    return json;
  }

  private static double percent(long part, long total) {
    return Math.round(1000.0 * part / total) / 10.0;
  }

  private static Duration cpuTime(long pid) {
    return ProcessHandle.of(pid)
        .flatMap(handle -> handle.info().totalCpuDuration())
        .orElse(Duration.ZERO);
  }

  private static Machine machine() {
    try {
      List<String> lines = Files.readAllLines(Path.of("/proc/stat"));
      String[] fields = lines.get(0).trim().split("\\s+");
      // cpu user nice system idle iowait irq softirq steal ...
      long user = Long.parseLong(fields[1]);
      long nice = Long.parseLong(fields[2]);
      long system = Long.parseLong(fields[3]);
      long idle = Long.parseLong(fields[4]);
      long iowait = Long.parseLong(fields[5]);
      long irq = Long.parseLong(fields[6]);
      long softirq = Long.parseLong(fields[7]);
      long steal = fields.length > 8 ? Long.parseLong(fields[8]) : 0;
      return new Machine(user + nice + system + irq + softirq, idle, iowait, steal);
    } catch (IOException | RuntimeException e) {
      return new Machine(0, 0, 0, 0);
    }
  }
}
