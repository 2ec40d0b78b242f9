package io.taskbroker.cli.internal;

import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.bench.NoopPlugin;
import io.taskbroker.worker.plugins.PluginLoader;
import io.taskbroker.worker.plugins.PluginRegistry;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/** Loads the plugins a worker command runs. Stateless. */
public final class Plugins {
  /** Package of the bundled example plugins, which {@code --no-examples} leaves out. */
  static final String EXAMPLES_PACKAGE = "io.taskbroker.cli.examples.";

  /** Bundled from elsewhere in the jar, and left out with the examples. */
  private static final Set<Class<?>> ALSO_EXAMPLES = Set.of(NoopPlugin.class);

  private Plugins() {}

  /**
   * @throws CliFailure when there is no plugin at all: a worker without one could claim nothing
   */
  public static PluginRegistry load(Path pluginsDir, boolean includeExamples) {
    List<TaskPlugin> plugins = new ArrayList<>();
    for (TaskPlugin plugin : PluginLoader.load(pluginsDir)) {
      if (includeExamples || !isExample(plugin)) {
        plugins.add(plugin);
      }
    }
    if (plugins.isEmpty()) {
      throw new CliFailure(
          ExitCodes.ERROR,
          "no plugins to run: none on the classpath"
              + (pluginsDir == null ? "" : " or in " + pluginsDir)
              + (includeExamples ? "" : " (the examples are off: --no-examples)")
              + "; put plugin jars in a directory and pass it with --plugins-dir");
    }
    return PluginRegistry.of(plugins);
  }

  private static boolean isExample(TaskPlugin plugin) {
    return plugin.getClass().getName().startsWith(EXAMPLES_PACKAGE)
        || ALSO_EXAMPLES.contains(plugin.getClass());
  }

  /** The plugin names, sorted, e.g. {@code echo, noop, transcribe}. */
  public static String names(PluginRegistry registry) {
    return String.join(", ", new TreeSet<>(registry.names()));
  }
}
