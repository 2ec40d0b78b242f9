package io.taskbroker.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.testsupport.InternalPackages;
import org.junit.jupiter.api.Test;

/** Enforces {@code internal}: see {@link InternalPackages} for which module may use what. */
class InternalPackagesTest {
  @Test
  void thisModuleUsesNoInternalPackageItIsNotAllowedTo() {
    assertThat(InternalPackages.violationsIn(BenchMain.class)).isEmpty();
  }
}
