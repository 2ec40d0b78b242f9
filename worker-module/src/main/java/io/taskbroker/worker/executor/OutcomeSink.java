package io.taskbroker.worker.executor;

/**
 * Where the executor hands decided outcomes, already turned into writes: the completer. Called once
 * per job, on the thread that decided the outcome; it must not throw, must see to it that the job
 * leaves the worker ({@link RunningJob#leave()}) once the write is done, rejected or given up, and
 * frees the job's slot early ({@link RunningJob#freeSlot()}) while its backlog is under its bound.
 */
public interface OutcomeSink {
  void accept(Outcomes.Write write);
}
