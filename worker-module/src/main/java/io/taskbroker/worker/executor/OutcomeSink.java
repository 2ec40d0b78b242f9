package io.taskbroker.worker.executor;

/**
 * Where the executor hands decided outcomes: the completer. Called once per job, on the thread that
 * decided the outcome; it must not throw, and must see to it that the job leaves the worker
 * whatever the outcome holds (one that cannot be recorded becomes the job's failure).
 */
public interface OutcomeSink {
  void accept(RunningJob job, Outcome outcome);
}
