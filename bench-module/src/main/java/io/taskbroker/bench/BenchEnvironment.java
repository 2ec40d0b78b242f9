package io.taskbroker.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.common.Json;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/** The machine and JVM the bench runs on. Stateless. */
final class BenchEnvironment {
  private BenchEnvironment() {}

  static ObjectNode describe() {
    ObjectNode json = Json.object();
    json.put("cpus", Runtime.getRuntime().availableProcessors());
    json.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    json.put("cpu_model", cpuModel());
    json.put("memory_total_kb", memoryTotalKb());
    json.put(
        "jvm",
        System.getProperty("java.vm.name")
            + " "
            + Runtime.version()
            + " ("
            + System.getProperty("java.vendor")
            + ")");
    json.put("bench_jvm_max_heap_bytes", Runtime.getRuntime().maxMemory());
    json.put("load_average", loadAverage());
    return json;
  }

  /** The 1-minute load average, or -1 where the OS does not say. */
  static double loadAverage() {
    double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    return Math.round(load * 100) / 100.0;
  }

  /** The java launcher of this JVM, for the worker processes. */
  static String javaCommand() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static String cpuModel() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (java.io.IOException | RuntimeException e) {
      // Not Linux.
    }
    return "unknown";
  }

  private static long memoryTotalKb() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
      }
    } catch (java.io.IOException | RuntimeException e) {
      // Not Linux.
    }
    return -1;
  }
}
