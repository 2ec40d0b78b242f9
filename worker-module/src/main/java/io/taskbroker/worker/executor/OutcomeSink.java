package io.taskbroker.worker.executor;

/** Where the executor hands decided outcomes: the completer. */
public interface OutcomeSink {
  void accept(RunningJob job, Outcome outcome);
}
