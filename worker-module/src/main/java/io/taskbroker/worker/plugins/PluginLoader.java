package io.taskbroker.worker.plugins;

import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.common.InvalidConfigException;
import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds plugins with {@link ServiceLoader}: on the worker's classpath, and in a plugins directory
 * where every {@code *.jar} (or every subdirectory of jars) gets a class loader of its own, so two
 * plugins can bring different versions of the same library. Stateless.
 */
public final class PluginLoader {
  private static final Logger LOG = LoggerFactory.getLogger(PluginLoader.class);

  private PluginLoader() {}

  /**
   * @param pluginsDir a directory of plugin jars, or null
   * @throws InvalidConfigException when the directory is missing or a plugin cannot load
   */
  public static List<TaskPlugin> load(Path pluginsDir) {
    List<TaskPlugin> plugins =
        new ArrayList<>(loadFrom(PluginLoader.class.getClassLoader(), "classpath"));
    if (pluginsDir != null) {
      if (!Files.isDirectory(pluginsDir)) {
        throw new InvalidConfigException("plugins directory " + pluginsDir + " does not exist");
      }
      for (Path unit : units(pluginsDir)) {
        ClassLoader loader = new PluginClassLoader(urls(unit), PluginLoader.class.getClassLoader());
        List<TaskPlugin> found = loadFrom(loader, unit.toString());
        if (found.isEmpty()) {
          LOG.warn(
              "{} has no plugin: list your class in META-INF/services/{}",
              unit,
              TaskPlugin.class.getName());
        }
        plugins.addAll(found);
      }
    }
    return plugins;
  }

  private static List<TaskPlugin> loadFrom(ClassLoader loader, String where) {
    List<TaskPlugin> found = new ArrayList<>();
    try {
      for (TaskPlugin plugin : ServiceLoader.load(TaskPlugin.class, loader)) {
        found.add(plugin);
      }
    } catch (ServiceConfigurationError e) {
      throw new InvalidConfigException(
          "cannot load a plugin from " + where + ": " + e.getMessage());
    }
    return found;
  }

  private static List<Path> units(Path dir) {
    try (Stream<Path> entries = Files.list(dir)) {
      return entries
          .filter(path -> Files.isDirectory(path) || path.toString().endsWith(".jar"))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new InvalidConfigException(
          "cannot read plugins directory " + dir + ": " + e.getMessage());
    }
  }

  private static URL[] urls(Path unit) {
    List<Path> jars;
    if (Files.isDirectory(unit)) {
      try (Stream<Path> entries = Files.list(unit)) {
        jars = entries.filter(path -> path.toString().endsWith(".jar")).sorted().toList();
      } catch (IOException e) {
        throw new InvalidConfigException("cannot read " + unit + ": " + e.getMessage());
      }
    } else {
      jars = List.of(unit);
    }
    URL[] urls = new URL[jars.size()];
    for (int i = 0; i < urls.length; i++) {
      try {
        urls[i] = jars.get(i).toUri().toURL();
      } catch (MalformedURLException e) {
        throw new InvalidConfigException("bad plugin path " + jars.get(i));
      }
    }
    return urls;
  }
}
