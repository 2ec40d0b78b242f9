package io.taskbroker.api.plugin;

import io.taskbroker.common.InvalidJobException;

/**
 * A plugin name with the Java types of its payload and result, shared by the code that submits the
 * jobs and the {@link TypedTaskPlugin} that runs them, so the two cannot disagree on a string.
 * Immutable.
 *
 * @param plugin the name jobs of this type ask for
 * @param payloadType the record a job's payload maps to (with taskbroker's Jackson setup, {@link
 *     io.taskbroker.common.Json})
 * @param resultType what the plugin returns and {@code await} gives back: a record, a JSON-mappable
 *     class, or {@code Void.class} for none
 */
public record JobType<P extends Record, R>(
    String plugin, Class<P> payloadType, Class<R> resultType) {

  public JobType {
    if (plugin == null || plugin.isBlank()) {
      throw new InvalidJobException("a job type needs a plugin name");
    }
    if (payloadType == null || resultType == null) {
      throw new InvalidJobException(
          "job type '" + plugin + "' needs both its payload type and its result type");
    }
  }

  public static <P extends Record, R> JobType<P, R> of(
      String plugin, Class<P> payloadType, Class<R> resultType) {
    return new JobType<>(plugin, payloadType, resultType);
  }
}
