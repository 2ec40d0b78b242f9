package io.taskbroker.api;

/**
 * What {@link TaskBrokerClient#bulk} did.
 *
 * @param touched how many jobs the action touched (exact, whether or not it was kept)
 * @param applied false when it touched more than allowed and was rolled back: nothing changed
 */
public record BulkResult(long touched, boolean applied) {}
