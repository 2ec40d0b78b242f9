package io.taskbroker.worker.plugins;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.plugin.TaskContext;
import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.common.InvalidConfigException;
import io.taskbroker.worker.testing.TestPlugin;
import java.util.List;
import org.junit.jupiter.api.Test;

class PluginRegistryTest {

  /** A second class that claims the same name as a {@link TestPlugin} called "resize". */
  static final class OtherResize implements TaskPlugin {
    @Override
    public String name() {
      return "resize";
    }

    @Override
    public JsonNode execute(TaskContext context) {
      return null;
    }
  }

  @Test
  void findsPluginsByName() {
    TestPlugin resize = TestPlugin.completing("resize");
    TestPlugin mail = TestPlugin.completing("mail");
    PluginRegistry registry = PluginRegistry.of(List.of(resize, mail));

    assertThat(registry.find("resize")).containsSame(resize);
    assertThat(registry.find("mail")).containsSame(mail);
    assertThat(registry.find("video")).isEmpty();
    assertThat(registry.names()).containsExactlyInAnyOrder("resize", "mail");
    assertThat(registry.claimFilter()).containsExactlyInAnyOrder("resize", "mail");
    assertThat(registry.acceptsAnyPlugin()).isFalse();
  }

  @Test
  void twoPluginClassesWithTheSameNameAreRejectedNamingBoth() {
    assertThatThrownBy(
            () -> PluginRegistry.of(List.of(TestPlugin.completing("resize"), new OtherResize())))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContainingAll(
            "'resize'", TestPlugin.class.getName(), OtherResize.class.getName());
  }

  @Test
  void theSamePluginClassFoundTwiceIsKeptOnce() {
    OtherResize first = new OtherResize();
    PluginRegistry registry = PluginRegistry.of(List.of(first, new OtherResize()));

    assertThat(registry.names()).containsExactly("resize");
    assertThat(registry.find("resize")).containsSame(first);
  }

  @Test
  void invalidNamesAreRejected() {
    assertThatThrownBy(() -> PluginRegistry.of(List.of(TestPlugin.completing(" "))))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("invalid name ' '");
    assertThatThrownBy(() -> PluginRegistry.of(List.of(TestPlugin.completing("p".repeat(129)))))
        .isInstanceOf(InvalidConfigException.class);
  }

  @Test
  void aCatchAllRunsEveryOtherNameAndClaimsAnyPlugin() {
    TestPlugin named = TestPlugin.completing("resize");
    TestPlugin catchAll = TestPlugin.completing("*");
    PluginRegistry registry = PluginRegistry.withCatchAll(List.of(named), catchAll);

    assertThat(registry.find("resize")).containsSame(named);
    assertThat(registry.find("anything")).containsSame(catchAll);
    assertThat(registry.acceptsAnyPlugin()).isTrue();
    assertThat(registry.claimFilter()).isNull();
    assertThat(registry.isEmpty()).isFalse();
    assertThat(PluginRegistry.of(List.of()).isEmpty()).isTrue();
  }
}
