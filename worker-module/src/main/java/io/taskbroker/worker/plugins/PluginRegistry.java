package io.taskbroker.worker.plugins;

import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.common.InvalidConfigException;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The plugins a worker has, by name, and optionally a catch-all that runs any other plugin name
 * (the in-process worker of the broker backend). Immutable and thread-safe.
 */
public final class PluginRegistry {
  private final Map<String, TaskPlugin> plugins;
  private final TaskPlugin catchAll;

  private PluginRegistry(Map<String, TaskPlugin> plugins, TaskPlugin catchAll) {
    this.plugins = Map.copyOf(plugins);
    this.catchAll = catchAll;
  }

  /**
   * @throws InvalidConfigException when two plugins share a name or a name is invalid
   */
  public static PluginRegistry of(Collection<? extends TaskPlugin> plugins) {
    return new PluginRegistry(index(plugins), null);
  }

  /** Every job is run by {@code catchAll} unless a named plugin matches. */
  public static PluginRegistry withCatchAll(
      Collection<? extends TaskPlugin> plugins, TaskPlugin catchAll) {
    return new PluginRegistry(index(plugins), catchAll);
  }

  public Optional<TaskPlugin> find(String name) {
    TaskPlugin plugin = plugins.get(name);
    return Optional.ofNullable(plugin != null ? plugin : catchAll);
  }

  public Set<String> names() {
    return plugins.keySet();
  }

  public boolean acceptsAnyPlugin() {
    return catchAll != null;
  }

  /** The plugin names a claim filters on, or null for "any". */
  public Collection<String> claimFilter() {
    return catchAll != null ? null : List.copyOf(plugins.keySet());
  }

  public boolean isEmpty() {
    return plugins.isEmpty() && catchAll == null;
  }

  private static Map<String, TaskPlugin> index(Collection<? extends TaskPlugin> plugins) {
    Map<String, TaskPlugin> byName = new LinkedHashMap<>();
    for (TaskPlugin plugin : plugins) {
      String name = plugin.name();
      if (name == null || name.isBlank() || name.length() > 128) {
        throw new InvalidConfigException(
            "plugin " + plugin.getClass().getName() + " has an invalid name '" + name + "'");
      }
      TaskPlugin previous = byName.putIfAbsent(name, plugin);
      if (previous != null && previous.getClass() != plugin.getClass()) {
        throw new InvalidConfigException(
            "two plugins are named '"
                + name
                + "': "
                + previous.getClass().getName()
                + " and "
                + plugin.getClass().getName());
      }
    }
    return byName;
  }
}
