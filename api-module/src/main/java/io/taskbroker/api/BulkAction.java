package io.taskbroker.api;

/**
 * A bulk action on the jobs a {@link io.taskbroker.common.JobFilter} matches, for {@link
 * TaskBrokerClient#bulk}: {@link TaskBrokerClient#retryAll}, {@link TaskBrokerClient#cancelAll} or
 * {@link TaskBrokerClient#deleteAll}.
 */
public enum BulkAction {
  RETRY,
  CANCEL,
  DELETE
}
