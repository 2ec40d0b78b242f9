package io.taskbroker.api.backend;

import java.util.Map;

/**
 * Runs one task: the task dict as submitted (its {@code type} and the rest of its fields; the
 * reserved {@code _taskbroker_*} keys of {@link Tasks} are stripped). Returns the result document
 * (anything Jackson can write, or null). Throwing, an {@link Error} included, fails the task (or
 * spends an attempt); the backend logs and records it and never throws it at the submitter.
 */
@FunctionalInterface
public interface TaskExecutor {
  Object execute(Map<String, Object> task) throws Exception;
}
