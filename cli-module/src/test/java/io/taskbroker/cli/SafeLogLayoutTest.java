package io.taskbroker.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.LoggingEvent;
import io.taskbroker.cli.internal.Logging;
import io.taskbroker.cli.internal.SafeLogLayout;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The jar's log layout (logback.xml): no password and no raw control character in a log line. */
class SafeLogLayoutTest {
  @AfterEach
  void forgetSecrets() {
    Logging.hideSecrets(Set.of());
  }

  @Test
  void logLinesMaskPasswordsAndShowControlsVisiblyStackTraceIncluded() {
    LoggerContext context = new LoggerContext();
    SafeLogLayout layout = new SafeLogLayout();
    layout.setContext(context);
    layout.setPattern("%-5level %msg%n");
    layout.start();
    Logging.hideSecrets(Set.of("pgpass-w0rd"));
    RuntimeException refused =
        new RuntimeException(
            "Driver claims to not accept jdbcUrl, jdbc:postgresql://u:s3cr/t0ps@h/db?password=p4ss");
    LoggingEvent event =
        new LoggingEvent(
            SafeLogLayoutTest.class.getName(),
            context.getLogger("io.taskbroker.test"),
            Level.ERROR,
            "job of queue {} failed with pgpass-w0rd",
            refused,
            new Object[] {"q\u001b]0;title\u0007\u009b\u202e"});

    String line = layout.doLayout(event);

    assertThat(line)
        .doesNotContain("s3cr")
        .doesNotContain("t0ps")
        .doesNotContain("p4ss")
        .doesNotContain("pgpass-w0rd")
        .contains("queue q\\e]0;title\\x07\\u009b\\u202e failed")
        .contains("\tat ");
    assertThat(line.chars().filter(c -> c < 0x20 && c != '\n' && c != '\t')).isEmpty();
  }
}
