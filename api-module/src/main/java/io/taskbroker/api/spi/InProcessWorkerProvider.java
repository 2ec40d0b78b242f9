package io.taskbroker.api.spi;

/**
 * Starts a worker inside this process, for {@link
 * io.taskbroker.api.backend.PostgresBrokerTaskBackend} with an executor set. The api module never
 * depends on the worker module: {@code taskbroker-worker} provides this through {@link
 * java.util.ServiceLoader}.
 */
public interface InProcessWorkerProvider {
  InProcessWorker start(InProcessWorkerSpec spec);
}
