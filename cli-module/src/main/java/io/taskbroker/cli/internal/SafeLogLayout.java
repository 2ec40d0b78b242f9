package io.taskbroker.cli.internal;

import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.ILoggingEvent;
import io.taskbroker.common.Secrets;

/**
 * The jar's log layout: the usual pattern, then every password masked ({@link Secrets}, with the
 * run's own from {@link Logging#secrets()}) and control characters shown visibly ({@link
 * Terminal}). A log line quotes what libraries and plugins put in messages (a refused URL, a queue
 * name, an error from a job), so this is done on the whole line, stack trace included. Thread-safe
 * once started, as Logback requires of layouts.
 */
public final class SafeLogLayout extends PatternLayout {
  @Override
  public String doLayout(ILoggingEvent event) {
    return Terminal.safeKeepingLines(Secrets.redact(super.doLayout(event), Logging.secrets()));
  }
}
