package io.taskbroker.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The command line's plugin set: the bundled examples, unless --no-examples leaves them out. */
class PluginsTest {

  @Test
  void theExamplesAreOnByDefault() {
    assertThat(Plugins.load(null, true).names())
        .containsExactlyInAnyOrder("echo", "noop", "transcribe");
  }

  @Test
  void noExamplesLeavesThemOutAndSaysSoWhenNothingIsLeft() {
    // The examples are the only plugins on this classpath, so nothing is left to run.
    assertThatThrownBy(() -> Plugins.load(null, false))
        .isInstanceOf(CliFailure.class)
        .hasMessageContaining("--no-examples");
  }
}
