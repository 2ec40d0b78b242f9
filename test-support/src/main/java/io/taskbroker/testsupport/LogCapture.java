package io.taskbroker.testsupport;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.LoggerFactory;

/**
 * Records what one logger (and the loggers below it) logs while open, from any thread. Use in
 * try-with-resources; closing detaches it and restores the logger's level. Thread-safe.
 *
 * <p>What it records: every event at INFO and above, whatever the configuration (when another test
 * in the JVM raised the logger's level above INFO, the capture lowers it to INFO while open), and
 * DEBUG or TRACE events only when the configuration enables them. It never changes what the other
 * appenders print beyond that.
 *
 * <p>For asserting that a line was logged when the log line is the behaviour under test (an
 * operator is told); never for waiting: a test waits on a signal the code gives (a latch, a
 * counter, a state it exposes, a row in the database), not on log wording.
 *
 * <p>Needs Logback (logback-classic) on the test classpath.
 */
public final class LogCapture extends AppenderBase<ILoggingEvent> implements AutoCloseable {
  private final Logger logger;
  private final Level previousLevel;
  private final List<ILoggingEvent> events = new CopyOnWriteArrayList<>();

  private LogCapture(Logger logger) {
    this.logger = logger;
    this.previousLevel = logger.getLevel();
  }

  /** Starts recording what the logger of {@code type} logs. */
  public static LogCapture of(Class<?> type) {
    return of(type.getName());
  }

  /** Starts recording what the logger named {@code loggerName} (and those below it) log. */
  public static LogCapture of(String loggerName) {
    LogCapture capture = new LogCapture((Logger) LoggerFactory.getLogger(loggerName));
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

  /** The formatted messages logged at exactly this level, in order. */
  public List<String> messages(Level level) {
    return events(level).stream().map(ILoggingEvent::getFormattedMessage).toList();
  }

  /** The events logged at exactly this level, in order. */
  public List<ILoggingEvent> events(Level level) {
    return events.stream().filter(event -> event.getLevel() == level).toList();
  }

  /** Whether a message recorded at any level contains this text. */
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
