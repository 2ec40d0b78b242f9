package io.taskbroker.api.plugin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectReader;
import io.taskbroker.common.Json;
import java.io.IOException;

/**
 * A plugin whose payload is a Java record and whose result is a Java value, mapped with
 * taskbroker's Jackson setup ({@link Json}: numbers exact as {@code BigDecimal}, {@code java.time}
 * as ISO text). Thread-safe when {@link #run} is.
 *
 * <p>Mapping rules, chosen so that jobs already queued survive a change of the record:
 *
 * <ul>
 *   <li>a property the record does not have is ignored (a newer submitter may send more);
 *   <li>a property the payload lacks is {@code null} for an object component, and fails the job for
 *       a primitive one (rather than silently becoming 0 or false);
 *   <li>a value of the wrong JSON type, or one the record's constructor refuses, fails the job.
 * </ul>
 *
 * A payload that does not map fails its job at once with error kind {@value
 * InvalidPayloadException#KIND}, without retrying and without calling {@link #run}; the worker and
 * every other job go on.
 *
 * @param <P> the payload record
 * @param <R> the result ({@code Void} for none)
 */
public abstract class TypedTaskPlugin<P extends Record, R> implements TaskPlugin {
  private final JobType<P, R> type;
  private final ObjectReader payloadReader;

  protected TypedTaskPlugin(JobType<P, R> type) {
    if (type == null) {
      throw new IllegalArgumentException("a typed plugin needs its job type");
    }
    this.type = type;
    this.payloadReader =
        Json.mapper()
            .readerFor(type.payloadType())
            .with(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES);
  }

  /** What one attempt does with a typed payload. */
  @FunctionalInterface
  public interface Handler<P, R> {
    R run(P payload, TaskContext context) throws Exception;
  }

  /** A typed plugin from a lambda. */
  public static <P extends Record, R> TypedTaskPlugin<P, R> of(
      JobType<P, R> type, Handler<P, R> handler) {
    if (handler == null) {
      throw new IllegalArgumentException("a typed plugin needs its handler");
    }
    return new TypedTaskPlugin<>(type) {
      @Override
      protected R run(P payload, TaskContext context) throws Exception {
        return handler.run(payload, context);
      }
    };
  }

  /**
   * Runs one attempt. Steer retries as any plugin does ({@link RetryJob}, {@link FailJob}, {@link
   * SnoozeJob}).
   *
   * @return the result, stored as JSON in the job's {@code result} column; null for none
   */
  protected abstract R run(P payload, TaskContext context) throws Exception;

  public final JobType<P, R> type() {
    return type;
  }

  @Override
  public final String name() {
    return type.plugin();
  }

  @Override
  public final JsonNode execute(TaskContext context) throws Exception {
    R result = run(payloadOf(context.payload()), context);
    return result == null ? null : Json.toTree(result);
  }

  /**
   * The payload as the record.
   *
   * @throws InvalidPayloadException saying which property does not fit, and why
   */
  public final P payloadOf(JsonNode payload) {
    try {
      return payloadReader.readValue(payload);
    } catch (JsonProcessingException e) {
      throw new InvalidPayloadException(
          "payload does not map to "
              + type.payloadType().getSimpleName()
              + ": "
              + describe(e)
              + rootCause(e),
          e);
    } catch (IOException e) {
      throw new InvalidPayloadException(
          "payload does not map to " + type.payloadType().getSimpleName() + ": " + e, e);
    }
  }

  private static String describe(JsonProcessingException e) {
    String reason = e.getOriginalMessage();
    // Jackson appends the source and a reference chain; the path says the same, shorter.
    int cut = reason.indexOf("\n at [Source");
    if (cut >= 0) {
      reason = reason.substring(0, cut);
    }
    if (e instanceof com.fasterxml.jackson.databind.JsonMappingException mapping
        && !mapping.getPath().isEmpty()) {
      StringBuilder path = new StringBuilder("payload");
      for (var reference : mapping.getPath()) {
        if (reference.getFieldName() != null) {
          path.append('.').append(reference.getFieldName());
        } else if (reference.getIndex() >= 0) {
          path.append('[').append(reference.getIndex()).append(']');
        }
      }
      return path + ": " + reason;
    }
    return reason;
  }

  // A record constructor's own check (IllegalArgumentException, say) is the reason a user wants.
  private static String rootCause(Throwable e) {
    Throwable cause = e.getCause();
    if (cause == null || cause instanceof JsonProcessingException) {
      return "";
    }
    String message = cause.getMessage();
    return message == null || e.getMessage().contains(message)
        ? ""
        : " (" + cause.getClass().getSimpleName() + ": " + message + ")";
  }
}
