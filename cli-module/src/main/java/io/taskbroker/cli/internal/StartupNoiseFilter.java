package io.taskbroker.cli.internal;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;

/**
 * Drops HikariCP's ERROR with a stack trace when the pool cannot open its first connection: the
 * command reports that failure itself, as one line ("cannot connect to PostgreSQL at ..."). Kept
 * with {@code --verbose}. Every other event passes. Thread-safe.
 */
public final class StartupNoiseFilter extends Filter<ILoggingEvent> {
  @Override
  public FilterReply decide(ILoggingEvent event) {
    if (!Logging.isVerbose()
        && event.getLevel() == Level.ERROR
        && event.getLoggerName().startsWith("com.zaxxer.hikari")
        && event.getMessage() != null
        && event.getMessage().contains("Exception during pool initialization")) {
      return FilterReply.DENY;
    }
    return FilterReply.NEUTRAL;
  }
}
