package io.taskbroker.common.sql;

import java.util.UUID;

/** A job this worker holds: the pair every fenced write names. */
public record ClaimRef(UUID jobId, int attempt) {}
