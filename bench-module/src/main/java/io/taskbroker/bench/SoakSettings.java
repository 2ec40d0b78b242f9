package io.taskbroker.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.common.InvalidConfigException;
import io.taskbroker.common.Json;
import java.time.Duration;

/**
 * What the {@code soak} workload does, validated. Immutable. Kept apart from {@link BenchSettings}
 * so the soak's options stay in one place.
 *
 * @param duration how long jobs are submitted at the fixed rate ({@code --soak-duration})
 * @param reportEvery the length of one reported interval ({@code --report-every})
 * @param historyRows finished jobs the table holds before the soak starts; missing ones are
 *     inserted ({@code --history-rows}); 0 inserts none
 */
record SoakSettings(Duration duration, Duration reportEvery, long historyRows) {
  static final Duration DEFAULT_DURATION = Duration.ofMinutes(30);
  static final Duration DEFAULT_REPORT_EVERY = Duration.ofMinutes(1);

  SoakSettings {
    if (duration.toMillis() < 1000) {
      throw new InvalidConfigException("--soak-duration must be at least 1s, got " + duration);
    }
    if (reportEvery.toMillis() < 500) {
      throw new InvalidConfigException("--report-every must be at least 500ms, got " + reportEvery);
    }
    if (reportEvery.compareTo(duration) > 0) {
      throw new InvalidConfigException(
          "--report-every ("
              + reportEvery
              + ") must not be longer than --soak-duration ("
              + duration
              + ")");
    }
    if (historyRows < 0) {
      throw new InvalidConfigException("--history-rows must be at least 0, got " + historyRows);
    }
  }

  ObjectNode toJson() {
    ObjectNode json = Json.object();
    json.put("duration_ms", duration.toMillis());
    json.put("report_every_ms", reportEvery.toMillis());
    json.put("history_rows", historyRows);
    return json;
  }
}
