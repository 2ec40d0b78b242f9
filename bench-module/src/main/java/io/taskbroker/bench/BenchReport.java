package io.taskbroker.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Renders a bench report (the JSON tree) as the table a person reads. Stateless. */
final class BenchReport {
  private BenchReport() {}

  static String table(JsonNode report) {
    StringBuilder out = new StringBuilder();
    JsonNode server = report.path("server");
    JsonNode environment = report.path("environment");
    JsonNode settings = report.path("settings");
    line(out, "taskbroker bench, %s", report.path("started_at").asText());
    line(out, "database   %s", report.path("database").asText());
    line(out, "server     %s", server.path("version").asText());
    JsonNode embedded = server.path("embedded");
    if (!embedded.isMissingNode()) {
      line(
          out,
          "embedded   yes: a PostgreSQL started by the bench on localhost:%d, data in %s (%s),"
              + " deleted afterwards",
          embedded.path("port").asInt(),
          embedded.path("data_directory").asText(),
          embedded.path("file_system").asText());
      if (List.of("tmpfs", "ramfs").contains(embedded.path("file_system").asText())) {
        line(
            out,
            "WARNING    the embedded server's data lies in memory (%s): fsync costs nothing"
                + " there, so commit-bound figures are higher than on a disk",
            embedded.path("file_system").asText());
      }
    }
    StringBuilder pgSettings = new StringBuilder();
    for (Map.Entry<String, JsonNode> setting : server.path("settings").properties()) {
      if (pgSettings.length() > 0) {
        pgSettings.append(' ');
      }
      pgSettings.append(setting.getKey()).append('=').append(setting.getValue().asText());
    }
    line(out, "settings   %s", pgSettings);
    if ("off".equals(server.at("/settings/autovacuum").asText())) {
      line(
          out,
          "WARNING    autovacuum is off on this server: dead rows of claimed and finished jobs"
              + " pile up in the claim index during a run, and every claim walks past them");
    }
    line(
        out,
        "machine    %d CPUs (%s), load %.2f at start; %s",
        environment.path("cpus").asInt(),
        environment.path("cpu_model").asText(),
        environment.path("load_average").asDouble(),
        environment.path("jvm").asText());
    line(
        out,
        "repeat     %d (figures are medians; min-max when more than one run)",
        settings.path("repeat").asInt());
    out.append('\n');

    line(out, "%-44s %10s %9s %22s  %s", "workload", "jobs", "seconds", "jobs/s", "notes");
    JsonNode drain = report.path("drain");
    if (!drain.isMissingNode()) {
      JsonNode first = drain.path("runs").path(0);
      int warmup = settings.path("warmup_jobs").asInt();
      List<String> phases = drainPhases(settings);
      for (String phase : phases) {
        // Figures of the phase across runs, and its first run; a phase that never ran (an
        // earlier one failed) is missing from the runs.
        JsonNode figures = drain.path("phases").path(phase);
        JsonNode firstPhase = first.path("phases").path(phase);
        String name =
            String.format(
                "drain %dx%d (JVMs x concurrency), %s",
                settings.path("processes").asInt(), settings.path("concurrency").asInt(), phase);
        String limits = settings.path("drain_queue_limits").asText("none");
        if (!limits.equals("none")) {
          name += ", limited " + limits;
        }
        if (settings.path("prefetch").asText().equals("none")) {
          name += ", no prefetch";
        }
        String notes;
        if (drain.path("ok").asBoolean()) {
          notes =
              String.format(
                  Locale.ROOT,
                  "%.3f commits/job, %,.0f WAL B/job, %.4f WAL syncs/job, %s claims (%.0f jobs"
                      + " each), %s completions (%.0f each)",
                  figures.at("/commits_per_job/median").asDouble(),
                  figures.at("/wal_bytes_per_job/median").asDouble(),
                  figures.at("/wal_syncs_per_job/median").asDouble(),
                  String.format("%,d", firstPhase.path("claim_transactions").asLong()),
                  perStatement(firstPhase, "claim_transactions"),
                  String.format("%,d", firstPhase.path("completion_transactions").asLong()),
                  perStatement(firstPhase, "completion_transactions"));
        } else if (firstPhase.isMissingNode()) {
          notes = "not run: an earlier phase failed";
        } else {
          notes = "FAILED: " + failureOf(drain);
        }
        row(
            out,
            name,
            firstPhase.path("jobs").asLong(),
            firstPhase.path("seconds").asDouble(),
            figures.path("jobs_per_sec"),
            notes);
        String cpu =
            String.format(
                Locale.ROOT,
                "CPU per job: worker JVM %s us, its PostgreSQL backends %s",
                figure(figures.path("worker_jvm_us_per_job"), "%.1f"),
                figures.path("worker_backends_us_per_job").path("n").asInt() > 0
                    ? figure(figures.path("worker_backends_us_per_job"), "%.1f") + " us"
                    : "- (remote server)");
        if (phase.equals(BenchSettings.COLD)) {
          note(out, cpu + " (the first jobs these worker JVMs ever ran, JIT compilation included)");
        } else if (warmup > 0) {
          note(
              out,
              cpu
                  + " (after "
                  + String.format("%,d", warmup)
                  + " untimed warm-up jobs in the same worker JVMs)");
        } else {
          note(out, cpu + " (the next jobs in the same worker JVMs, after the cold phase)");
        }
      }
      int runIndex = 0;
      for (JsonNode run : drain.path("runs")) {
        runIndex++;
        for (String phase : phases) {
          JsonNode health = run.path("phases").path(phase).path("table_health");
          if (health.isMissingNode()) {
            continue;
          }
          String prefix =
              (drain.path("runs").size() > 1 ? "run " + runIndex + ", " : "") + phase + ": ";
          note(
              out,
              prefix
                  + "jobs table right after the drain: "
                  + health(health.path("after_drain"), health.path("at_start")));
          note(
              out,
              prefix
                  + "jobs table "
                  + (health.path("workers_at_cleanup").asText().equals("exited")
                      ? "once the workers exited"
                      : "with the workers idle")
                  + ", before cleanup: "
                  + health(health.path("before_cleanup"), health.path("at_start")));
        }
      }
    }
    JsonNode enqueue = report.path("enqueue");
    if (!enqueue.isMissingNode()) {
      for (JsonNode variant : enqueue.path("single")) {
        JsonNode first = variant.path("runs").path(0);
        boolean notify = variant.path("notify").asBoolean();
        String name =
            String.format(
                "enqueue single-row, %d thread%s, %s",
                variant.path("threads").asInt(),
                variant.path("threads").asInt() == 1 ? "" : "s",
                notify ? "submit+NOTIFY" : "INSERT no NOTIFY");
        String notes =
            allOk(variant)
                ? String.format(
                    Locale.ROOT,
                    "%.2f WAL syncs/job%s",
                    variant.at("/wal_syncs_per_job/median").asDouble(),
                    notify ? "" : " (commit-rate reference)")
                : "FAILED: " + failureOf(variant);
        row(out, name, first.path("jobs").asLong(), variant, notes);
      }
      for (JsonNode variant : enqueue.path("batched")) {
        JsonNode first = variant.path("runs").path(0);
        String name =
            String.format("enqueue batched, submitAll x %,d", variant.path("batch_size").asInt());
        row(
            out,
            name,
            first.path("jobs").asLong(),
            variant,
            allOk(variant)
                ? "one transaction + NOTIFY per batch"
                : "FAILED: " + failureOf(variant));
      }
    }

    JsonNode latency = report.path("latency");
    if (!latency.isMissingNode()) {
      out.append('\n');
      line(
          out,
          "%-44s %8s %20s %20s %20s %22s  %s",
          "latency (submit -> plugin start)",
          "samples",
          "p50 ms",
          "p90 ms",
          "p99 ms",
          "max ms",
          "notes");
      JsonNode first = latency.path("runs").path(0);
      for (String phase : List.of("idle", "idle_notify")) {
        if (!latency.has(phase)) {
          continue;
        }
        JsonNode idle = first.path(phase);
        latencyRow(
            out,
            String.format(
                "idle, gap U(0, %d ms), %s",
                idle.path("gap_ms").asInt(),
                phase.equals("idle") ? "woken in-process" : "woken by NOTIFY"),
            idle.path("samples").asLong(),
            latency.path(phase),
            latency.path("ok").asBoolean()
                ? String.format(
                    Locale.ROOT,
                    "p50 parts: submit+commit %.2f, then until the claim began %.2f, then until"
                        + " the plugin started %.2f ms",
                    idle.at("/submit/p50_ms").asDouble(),
                    idle.at("/after_submit_until_claim_began/p50_ms").asDouble(),
                    idle.at("/claim_began_until_plugin_start/p50_ms").asDouble())
                : "FAILED: " + failureOf(latency));
      }
      if (latency.has("open_loop")) {
        JsonNode open = first.path("open_loop");
        latencyRow(
            out,
            String.format(
                "open loop %.0f/s, %d senders, from intended time",
                open.path("rate_per_sec").asDouble(), open.path("senders").asInt()),
            open.path("samples").asLong(),
            latency.path("open_loop"),
            String.format(
                Locale.ROOT,
                "sender lag p99 %.2f ms, achieved %.0f/s",
                open.at("/sender_lag/p99_ms").asDouble(),
                open.path("achieved_submit_rate_per_sec").asDouble()));
      }
    }

    if (!drain.isMissingNode()) {
      out.append('\n');
      int runIndex = 0;
      for (JsonNode run : drain.path("runs")) {
        runIndex++;
        int index = 0;
        for (JsonNode worker : run.path("workers")) {
          line(
              out,
              "drain run %d worker %d (pid %d): RSS first %s, last %s, max %s, HWM %s; heap after"
                  + " GC first %s, last %s, max %s; heap used max %s of %s committed",
              runIndex,
              index++,
              worker.path("pid").asLong(),
              kb(worker.path("rss_first_kb")),
              kb(worker.path("rss_last_kb")),
              kb(worker.path("rss_max_kb")),
              kb(worker.path("rss_hwm_kb")),
              bytes(worker.path("heap_after_gc_first_bytes")),
              bytes(worker.path("heap_after_gc_last_bytes")),
              bytes(worker.path("heap_after_gc_max_bytes")),
              bytes(worker.path("heap_used_max_bytes")),
              bytes(worker.path("heap_committed_bytes")));
        }
      }
      runIndex = 0;
      for (JsonNode run : drain.path("runs")) {
        runIndex++;
        for (String phase : drainPhases(settings)) {
          JsonNode cpu = run.path("phases").path(phase).path("cpu");
          if (cpu.isMissingNode()) {
            continue;
          }
          line(
              out,
              "drain run %d %s CPU per job: worker JVM %.1f us, its PostgreSQL backends %s;"
                  + " machine %s%% busy (all tenants)",
              runIndex,
              phase,
              cpu.path("worker_jvm_us_per_job").asDouble(),
              cpu.has("worker_backends_us_per_job")
                  ? String.format(
                      Locale.ROOT, "%.1f us", cpu.path("worker_backends_us_per_job").asDouble())
                  : "- (remote server)",
              cpu.path("busy_pct").asText("-"));
        }
      }
      line(
          out,
          "worker JVM options: %s",
          settings.path("worker_jvm_options").asText().isEmpty()
              ? "(none)"
              : settings.path("worker_jvm_options").asText());
    }
    soak(out, report.path("soak"));
    out.append('\n');
    if (report.path("ok").asBoolean()) {
      line(out, "result: OK (every job verified in the database, every sample started)");
    } else {
      line(out, "result: FAILED");
      for (JsonNode failure : report.path("failures")) {
        line(out, "  - %s", failure.asText());
      }
    }
    return out.toString();
  }

  /** The soak: its history, one line per interval as printed while it ran, and first vs last. */
  private static void soak(StringBuilder out, JsonNode soak) {
    if (soak.isMissingNode()) {
      return;
    }
    out.append('\n');
    JsonNode history = soak.path("history");
    line(
        out,
        "soak at %.0f/s for %.0f s, %d sender(s), worker concurrency %d; history: %,d finished jobs"
            + " requested, %,d inserted into %s",
        soak.path("rate_per_sec").asDouble(),
        soak.path("duration_ms").asDouble() / 1000,
        soak.path("senders").asInt(),
        soak.path("worker_concurrency").asInt(),
        history.path("requested_rows").asLong(),
        history.path("inserted_rows").asLong(),
        history.path("queue").asText());
    for (JsonNode row : soak.path("intervals")) {
      line(out, "  %s", SoakBench.describe((com.fasterxml.jackson.databind.node.ObjectNode) row));
    }
    JsonNode summary = soak.path("summary");
    if (summary.has("first")) {
      JsonNode first = summary.path("first");
      JsonNode last = summary.path("last");
      line(
          out,
          "  first -> last interval: p99 %.2f -> %.2f ms; table %s -> %s, indexes %s -> %s, claim"
              + " index %s -> %s; dead tuples %,d -> %,d (max %,d); autovacuums %d",
          first.path("p99_ms").asDouble(),
          last.path("p99_ms").asDouble(),
          SoakBench.megabytes(first.path("table_bytes").asLong()),
          SoakBench.megabytes(last.path("table_bytes").asLong()),
          SoakBench.megabytes(first.path("indexes_bytes").asLong()),
          SoakBench.megabytes(last.path("indexes_bytes").asLong()),
          SoakBench.megabytes(first.path("claim_index_bytes").asLong()),
          SoakBench.megabytes(last.path("claim_index_bytes").asLong()),
          first.path("n_dead_tup").asLong(),
          last.path("n_dead_tup").asLong(),
          summary.path("max_n_dead_tup").asLong(),
          summary.path("autovacuums").asLong());
      JsonNode latency = soak.path("latency");
      line(
          out,
          "  whole soak: %,d jobs, submit->start p50 %.2f p95 %.2f p99 %.2f max %.2f ms;"
              + " achieved %.0f/s, sender lag p99 %.2f ms",
          latency.path("count").asLong(),
          latency.path("p50_ms").asDouble(),
          latency.path("p95_ms").asDouble(),
          latency.path("p99_ms").asDouble(),
          latency.path("max_ms").asDouble(),
          soak.path("achieved_submit_rate_per_sec").asDouble(),
          soak.at("/sender_lag/p99_ms").asDouble());
    }
    if (!soak.path("ok").asBoolean()) {
      line(out, "  FAILED: %s", soak.path("failure").asText("failed"));
    }
  }

  private static void row(
      StringBuilder out, String name, long jobs, JsonNode section, String notes) {
    row(
        out,
        name,
        jobs,
        section.at("/runs/0/seconds").asDouble(),
        section.path("jobs_per_sec"),
        notes);
  }

  private static void row(
      StringBuilder out,
      String name,
      long jobs,
      double seconds,
      JsonNode jobsPerSec,
      String notes) {
    line(
        out, "%-44s %,10d %9.2f %22s  %s", name, jobs, seconds, figure(jobsPerSec, "%,.0f"), notes);
  }

  /** The drain's timed phases, in the order they ran. */
  private static List<String> drainPhases(JsonNode settings) {
    List<String> names = new java.util.ArrayList<>();
    settings.path("drain_phases").forEach(phase -> names.add(phase.asText()));
    return names;
  }

  /** A line of notes under a row, in the notes column. */
  private static void note(StringBuilder out, String text) {
    line(out, "%-44s %10s %9s %22s  %s", "", "", "", "", text);
  }

  /** One snapshot of the jobs table's health, with the autovacuum runs since {@code start}. */
  private static String health(JsonNode snapshot, JsonNode start) {
    long autovacuums =
        snapshot.path("autovacuum_count").asLong() - start.path("autovacuum_count").asLong();
    JsonNode last = snapshot.path("last_autovacuum");
    return String.format(
        Locale.ROOT,
        "%,d live, %,d dead tuples; table %s, claim index %s, all indexes %s; autovacuum ran %d"
            + " time%s since the run started (last: %s)",
        snapshot.path("n_live_tup").asLong(),
        snapshot.path("n_dead_tup").asLong(),
        bytes(snapshot.path("table_bytes")),
        bytes(snapshot.path("claim_index_bytes")),
        bytes(snapshot.path("indexes_bytes")),
        autovacuums,
        autovacuums == 1 ? "" : "s",
        last.isTextual() ? last.asText() : "never");
  }

  private static void latencyRow(
      StringBuilder out, String name, long samples, JsonNode figures, String notes) {
    line(
        out,
        "%-44s %8d %20s %20s %20s %22s  %s",
        name,
        samples,
        figure(figures.path("p50_ms"), "%.2f"),
        figure(figures.path("p90_ms"), "%.2f"),
        figure(figures.path("p99_ms"), "%.2f"),
        figure(figures.path("max_ms"), "%.2f"),
        notes);
  }

  /** "median" or "median (min-max)" when several runs went in. */
  private static String figure(JsonNode aggregate, String format) {
    if (aggregate.path("n").asInt() == 0) {
      return "-";
    }
    String median = String.format(Locale.ROOT, format, aggregate.path("median").asDouble());
    if (aggregate.path("n").asInt() == 1) {
      return median;
    }
    return median
        + " ("
        + String.format(Locale.ROOT, format, aggregate.path("min").asDouble())
        + "-"
        + String.format(Locale.ROOT, format, aggregate.path("max").asDouble())
        + ")";
  }

  private static double perStatement(JsonNode run, String field) {
    long statements = run.path(field).asLong();
    return statements == 0 ? 0 : run.path("jobs").asDouble() / statements;
  }

  private static boolean allOk(JsonNode variant) {
    for (JsonNode run : variant.path("runs")) {
      if (!run.path("ok").asBoolean()) {
        return false;
      }
    }
    return true;
  }

  private static String failureOf(JsonNode section) {
    for (JsonNode run : section.path("runs")) {
      if (!run.path("ok").asBoolean()) {
        return run.path("failure").asText("failed");
      }
    }
    return section.path("failure").asText("failed");
  }

  private static String kb(JsonNode value) {
    return value.isNumber() && value.asLong() >= 0
        ? String.format(Locale.ROOT, "%.0f MB", value.asLong() / 1024.0)
        : "-";
  }

  private static String bytes(JsonNode value) {
    return value.isNumber() && value.asLong() >= 0
        ? String.format(Locale.ROOT, "%.1f MB", value.asLong() / 1048576.0)
        : "-";
  }

  private static void line(StringBuilder out, String format, Object... args) {
    out.append(String.format(Locale.ROOT, format, args)).append('\n');
  }
}
