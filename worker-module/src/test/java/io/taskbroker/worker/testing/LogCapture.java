package io.taskbroker.worker.testing;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.LoggerFactory;

/**
 * Records what one logger logs while open, from any thread, at INFO and above whatever the
 * configuration (another test in the JVM may have changed it). Use in try-with-resources; closing
 * detaches it and restores the logger's level. Thread-safe.
 */
public final class LogCapture extends AppenderBase<ILoggingEvent> implements AutoCloseable {
  private final Logger logger;
  private final Level previousLevel;
  private final List<ILoggingEvent> events = new CopyOnWriteArrayList<>();

  private LogCapture(Logger logger) {
    this.logger = logger;
    this.previousLevel = logger.getLevel();
  }

  public static LogCapture of(Class<?> type) {
    LogCapture capture = new LogCapture((Logger) LoggerFactory.getLogger(type));
    capture.setContext(capture.logger.getLoggerContext());
    capture.start();
    if (!capture.logger.isInfoEnabled()) {
      capture.logger.setLevel(Level.INFO);
    }
    capture.logger.addAppender(capture);
    return capture;
  }

  @Override
  protected void append(ILoggingEvent event) {
    events.add(event);
  }

  /** The formatted messages logged at this level or above, in order. */
  public List<String> messages(Level atLeast) {
    return events.stream()
        .filter(event -> event.getLevel().isGreaterOrEqual(atLeast))
        .map(ILoggingEvent::getFormattedMessage)
        .toList();
  }

  /** Whether a message at any level contains this text. */
  public boolean contains(String text) {
    return events.stream().anyMatch(event -> event.getFormattedMessage().contains(text));
  }

  @Override
  public void close() {
    logger.detachAppender(this);
    logger.setLevel(previousLevel);
    stop();
  }
}
