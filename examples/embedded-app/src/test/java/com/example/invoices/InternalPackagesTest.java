package com.example.invoices;

import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.testsupport.InternalPackages;
import org.junit.jupiter.api.Test;

/** An application embeds taskbroker through its public API only, never its internal packages. */
class InternalPackagesTest {
  @Test
  void theApplicationUsesNoInternalPackageOfTaskbroker() {
    assertThat(InternalPackages.violationsIn(InvoicesApp.class)).isEmpty();
  }
}
