package io.taskbroker.api.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** Reads the payload of {@link Channels#JOB_EVENTS}: {@code id:status} pairs joined by commas. */
public final class JobEvents {
  private JobEvents() {}

  /** The job ids named in the payload; malformed pairs are skipped (NOTIFY is only a hint). */
  public static List<UUID> finishedIds(String payload) {
    List<UUID> ids = new ArrayList<>();
    for (String pair : payload.split(",")) {
      int colon = pair.indexOf(':');
      if (colon <= 0) {
        continue;
      }
      try {
        ids.add(UUID.fromString(pair.substring(0, colon)));
      } catch (IllegalArgumentException e) {
        // Not ours to judge; the poll covers it.
      }
    }
    return ids;
  }
}
