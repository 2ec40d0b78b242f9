package io.taskbroker.cli.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.taskbroker.api.plugin.FailJob;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.common.Json;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Example plugin {@code transcribe}: a simulated transcription, the worked example of the design.
 * It reads no file; it pretends, one segment at a time, reporting progress and stopping when
 * cancelled.
 *
 * <p>Payload: {@code file_path} (required), {@code file_name} (default: the last part of the path),
 * {@code segments} (default 5), {@code segment_ms} (time per segment, default 200).
 *
 * <p>Result: {@code {"file_name", "language": "en", "segments": [{"start", "end", "text"}],
 * "text"}}.
 *
 * <p>Stateless and thread-safe.
 */
public final class TranscriptionPlugin implements TaskPlugin {
  public static final String NAME = "transcribe";

  static final int DEFAULT_SEGMENTS = 5;
  static final long DEFAULT_SEGMENT_MS = 200;
  private static final int MAX_SEGMENTS = 10_000;
  // Audio seconds per segment.
  private static final double SEGMENT_SECONDS = 2.5;
  private static final String[] SENTENCES = {
    "Welcome to the recording.",
    "Today we look at how jobs move through the queue.",
    "A worker claims a job and runs its plugin.",
    "Progress is written back with every heartbeat.",
    "When the work is done the result is stored with the job.",
    "Thank you for listening."
  };

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public JsonNode execute(TaskContext context) throws InterruptedException {
    ObjectNode payload = context.payload();
    String filePath = text(payload, "file_path");
    if (filePath == null || filePath.isBlank()) {
      // Retrying cannot make a missing input appear: fail now.
      throw new FailJob("transcribe needs a \"file_path\" in the payload");
    }
    String fileName = text(payload, "file_name");
    if (fileName == null || fileName.isBlank()) {
      fileName = fileNameOf(filePath);
    }
    int segments = (int) number(payload, "segments", DEFAULT_SEGMENTS, 1, MAX_SEGMENTS);
    long segmentMs = number(payload, "segment_ms", DEFAULT_SEGMENT_MS, 0, 3_600_000);

    ArrayNode transcript = Json.mapper().createArrayNode();
    StringBuilder fullText = new StringBuilder();
    context.reportProgress(0, "segment 0 of " + segments);
    for (int i = 1; i <= segments; i++) {
      context.throwIfCancelled();
      if (segmentMs > 0) {
        // Interrupted when the job is cancelled or times out.
        Thread.sleep(segmentMs);
      }
      String sentence = SENTENCES[(i - 1) % SENTENCES.length];
      ObjectNode segment = transcript.addObject();
      segment.put("start", (i - 1) * SEGMENT_SECONDS);
      segment.put("end", i * SEGMENT_SECONDS);
      segment.put("text", sentence);
      fullText.append(i > 1 ? " " : "").append(sentence);
      context.reportProgress((double) i / segments, "segment " + i + " of " + segments);
    }

    ObjectNode result = Json.object();
    result.put("file_name", fileName);
    result.put("language", "en");
    result.set("segments", transcript);
    result.put("text", fullText.toString());
    return result;
  }

  private static String text(ObjectNode payload, String field) {
    JsonNode value = payload.get(field);
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isTextual()) {
      throw new FailJob(field + " must be a string, got " + value);
    }
    return value.asText();
  }

  private static long number(ObjectNode payload, String field, long fallback, long min, long max) {
    JsonNode value = payload.get(field);
    if (value == null || value.isNull()) {
      return fallback;
    }
    if (!value.isIntegralNumber() || value.asLong() < min || value.asLong() > max) {
      throw new FailJob(
          field + " must be a whole number between " + min + " and " + max + ", got " + value);
    }
    return value.asLong();
  }

  private static String fileNameOf(String filePath) {
    try {
      Path name = Path.of(filePath).getFileName();
      return name == null ? filePath : name.toString();
    } catch (InvalidPathException e) {
      return filePath;
    }
  }
}
