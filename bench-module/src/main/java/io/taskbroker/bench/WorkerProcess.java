package io.taskbroker.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The parent's handle on one {@link BenchWorkerMain} JVM: starts it, reads its protocol lines on a
 * thread of its own (forwarding log lines to stderr), samples its RSS from {@code /proc}, and stops
 * it. Thread-safe: the reader thread writes the latest report, the bench thread reads it.
 */
final class WorkerProcess implements AutoCloseable {
  /** The latest {@code STAT} line of the worker; all zero before the first. */
  record Stat(
      long nowMicros,
      long written,
      long rejected,
      long lastWriteMicros,
      long heapUsed,
      long heapCommitted,
      long heapAfterGc,
      int held) {
    static final Stat NONE = new Stat(0, 0, 0, 0, 0, 0, -1, 0);
  }

  /** A memory sample of the process, in kB; -1 where {@code /proc} does not say. */
  record Memory(long rssKb, long hwmKb) {}

  private final int index;
  private final Process process;
  private final PrintStream log;
  private final CountDownLatch ready = new CountDownLatch(1);
  private final CountDownLatch stopped = new CountDownLatch(1);
  private final Thread reader;
  private final List<Memory> rssSamples = new ArrayList<>();
  private volatile Stat stat = Stat.NONE;
  private volatile long maxHeapUsed;
  private volatile long maxHeapAfterGc = -1;
  private volatile long firstHeapAfterGc = -1;
  private volatile String stoppedLine;
  private final java.util.concurrent.atomic.AtomicInteger warnings =
      new java.util.concurrent.atomic.AtomicInteger();

  private WorkerProcess(int index, Process process, PrintStream log) {
    this.index = index;
    this.process = process;
    this.log = log;
    this.reader = new Thread(this::read, "bench-worker-" + index + "-reader");
    reader.setDaemon(true);
    reader.start();
  }

  /**
   * Starts a worker JVM.
   *
   * @param command the full command line ({@code java ... BenchWorkerMain ...})
   * @param password the database password, passed in the environment; may be null
   */
  static WorkerProcess start(int index, List<String> command, String password, PrintStream log)
      throws IOException {
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.redirectErrorStream(true);
    if (password != null) {
      builder.environment().put(BenchWorkerMain.PASSWORD_VARIABLE, password);
    }
    return new WorkerProcess(index, builder.start(), log);
  }

  long pid() {
    return process.pid();
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** Waits for {@code READY}; false when the time ran out or the process died first. */
  boolean awaitReady(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (ready.await(50, TimeUnit.MILLISECONDS)) {
        return true;
      }
      if (!process.isAlive()) {
        return ready.getCount() == 0;
      }
    }
    return false;
  }

  /** Log lines at WARN or ERROR the worker printed. */
  int warnings() {
    return warnings.get();
  }

  Stat stat() {
    return stat;
  }

  long maxHeapUsed() {
    return maxHeapUsed;
  }

  long firstHeapAfterGc() {
    return firstHeapAfterGc;
  }

  long maxHeapAfterGc() {
    return maxHeapAfterGc;
  }

  /** Reads VmRSS and VmHWM now and keeps the sample. */
  Memory sampleMemory() {
    Memory memory = readMemory(process.pid());
    synchronized (rssSamples) {
      rssSamples.add(memory);
    }
    return memory;
  }

  List<Memory> memorySamples() {
    synchronized (rssSamples) {
      return List.copyOf(rssSamples);
    }
  }

  /**
   * Asks the worker to shut down gracefully and waits for it to exit; kills it when it does not
   * within the timeout.
   *
   * @return whether it stopped by itself
   */
  boolean stop(Duration timeout) throws InterruptedException {
    if (process.isAlive()) {
      try {
        OutputStream in = process.getOutputStream();
        in.write("STOP\n".getBytes(StandardCharsets.UTF_8));
        in.flush();
      } catch (IOException e) {
        // Already gone: waitFor below says so.
      }
    }
    boolean exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
    if (!exited) {
      process.destroyForcibly();
      process.waitFor(5, TimeUnit.SECONDS);
    }
    reader.join(2000);
    return exited && stoppedLine != null;
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
    }
  }

  private void read() {
    try (BufferedReader lines =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = lines.readLine()) != null) {
        if (line.startsWith("STAT ")) {
          onStat(line);
        } else if (line.startsWith("READY ")) {
          ready.countDown();
        } else if (line.startsWith("STOPPED ")) {
          stoppedLine = line;
          stopped.countDown();
        } else {
          if (line.contains(" WARN ") || line.contains(" ERROR ")) {
            warnings.incrementAndGet();
          }
          log.println("[worker " + index + "] " + line);
        }
      }
    } catch (IOException e) {
      log.println("[worker " + index + "] output lost: " + e.getMessage());
    }
  }

  private void onStat(String line) {
    String[] fields = line.split(" ");
    if (fields.length < 9) {
      log.println("[worker " + index + "] malformed report: " + line);
      return;
    }
    Stat next =
        new Stat(
            Long.parseLong(fields[1]),
            Long.parseLong(fields[2]),
            Long.parseLong(fields[3]),
            Long.parseLong(fields[4]),
            Long.parseLong(fields[5]),
            Long.parseLong(fields[6]),
            Long.parseLong(fields[7]),
            Integer.parseInt(fields[8]));
    stat = next;
    maxHeapUsed = Math.max(maxHeapUsed, next.heapUsed());
    if (next.heapAfterGc() >= 0) {
      if (firstHeapAfterGc < 0) {
        firstHeapAfterGc = next.heapAfterGc();
      }
      maxHeapAfterGc = Math.max(maxHeapAfterGc, next.heapAfterGc());
    }
  }

  /** VmRSS and VmHWM of a process from {@code /proc/<pid>/status}; -1 when unreadable. */
  static Memory readMemory(long pid) {
    long rss = -1;
    long hwm = -1;
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          rss = kilobytes(line);
        } else if (line.startsWith("VmHWM:")) {
          hwm = kilobytes(line);
        }
      }
    } catch (IOException | RuntimeException e) {
      // Not Linux, or the process is gone.
    }
    return new Memory(rss, hwm);
  }

  private static long kilobytes(String line) {
    String[] parts = line.trim().split("\\s+");
    return Long.parseLong(parts[1]);
  }
}
