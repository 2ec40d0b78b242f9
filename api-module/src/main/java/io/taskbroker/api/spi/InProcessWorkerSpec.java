package io.taskbroker.api.spi;

import io.taskbroker.api.backend.TaskExecutor;
import io.taskbroker.common.Database;

/**
 * What an in-process worker runs: every job of {@code queue}, whatever its plugin, through the
 * executor (which gets the task dict: payload plus {@code type}).
 */
public record InProcessWorkerSpec(
    Database database, String queue, int concurrency, TaskExecutor executor) {}
