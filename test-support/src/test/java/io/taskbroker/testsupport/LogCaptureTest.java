package io.taskbroker.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class LogCaptureTest {
  private static final String NAME = "io.taskbroker.testsupport.LogCaptureTest.subject";

  @Test
  void recordsEachLevelApartFromAnyThreadIncludingChildLoggers() throws InterruptedException {
    try (LogCapture capture = LogCapture.of(NAME)) {
      Thread other =
          new Thread(() -> LoggerFactory.getLogger(NAME + ".child").warn("from {}", "elsewhere"));
      other.start();
      other.join();
      LoggerFactory.getLogger(NAME).error("broken");
      LoggerFactory.getLogger(NAME).warn("careful");

      assertThat(capture.messages(Level.WARN)).containsExactly("from elsewhere", "careful");
      assertThat(capture.messages(Level.ERROR)).containsExactly("broken");
      assertThat(capture.contains("else")).isTrue();
      assertThat(capture.contains("absent")).isFalse();
    }
  }

  @Test
  void recordsInfoEvenWhenTheLoggerWasSetHigherAndRestoresTheLevel() {
    Logger logger = (Logger) LoggerFactory.getLogger(NAME);
    logger.setLevel(Level.ERROR);
    try {
      try (LogCapture capture = LogCapture.of(NAME)) {
        LoggerFactory.getLogger(NAME).info("started");

        assertThat(capture.messages(Level.INFO)).containsExactly("started");
      }
      assertThat(logger.getLevel()).isEqualTo(Level.ERROR);
    } finally {
      logger.setLevel(null);
    }
  }

  @Test
  void recordsNothingOnceClosed() {
    LogCapture capture = LogCapture.of(NAME);
    capture.close();

    LoggerFactory.getLogger(NAME).error("after close");

    assertThat(capture.messages(Level.ERROR)).isEmpty();
  }
}
