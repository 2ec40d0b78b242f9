package io.taskbroker.testsupport;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.outsider.UsesAnInternalType;
import org.junit.jupiter.api.Test;

class InternalPackagesTest {

  @Test
  void aClassOfAnotherModuleUsingAnInternalTypeIsReportedAndAMentionInTextIsNot() {
    // The test classes: those of test-support itself use its internal package freely.
    assertThat(InternalPackages.violationsIn(UsesAnInternalType.class))
        .containsExactly(
            "io.taskbroker.outsider.UsesAnInternalType uses io.taskbroker.testsupport.internal");
  }

  @Test
  void testSupportsOwnClassesUseOnlyWhatTheyMay() {
    assertThat(InternalPackages.violationsIn(PostgresExtension.class)).isEmpty();
  }

  @Test
  void internalPackagesAreOpenToTheirModuleAndItsFriendsOnly() {
    assertThat(InternalPackages.allowed("io.taskbroker.worker", "io.taskbroker.worker.internal"))
        .isTrue();
    assertThat(InternalPackages.allowed("io.taskbroker.worker", "io.taskbroker.api.internal"))
        .isTrue();
    assertThat(InternalPackages.allowed("io.taskbroker.api", "io.taskbroker.common.sql")).isTrue();
    assertThat(InternalPackages.allowed("io.taskbroker.api", "io.taskbroker.worker.internal"))
        .isFalse();
    assertThat(InternalPackages.allowed("io.taskbroker.cli", "io.taskbroker.common.sql")).isFalse();
    assertThat(InternalPackages.allowed("io.taskbroker.cli", "io.taskbroker.api.internal"))
        .isFalse();
    assertThat(InternalPackages.allowed("com.example.invoices", "io.taskbroker.worker.internal"))
        .isFalse();
    assertThat(InternalPackages.allowed("com.example.invoices", "io.taskbroker.worker")).isTrue();
    assertThat(InternalPackages.moduleOf("io.taskbroker.worker.producer.Producer"))
        .isEqualTo("io.taskbroker.worker");
  }
}
