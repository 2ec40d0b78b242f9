package io.taskbroker.worker.plugins;

import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.Enumeration;

/**
 * Loads a plugin's classes from its own jars first (child-first), so its libraries do not clash
 * with another plugin's or the worker's; only the plugin contract (taskbroker's api and common,
 * Jackson, SLF4J) and the JDK come from the worker, since both sides must share those types.
 */
final class PluginClassLoader extends URLClassLoader {
  private static final String[] SHARED = {
    "java.",
    "javax.",
    "jdk.",
    "sun.",
    "io.taskbroker.api.",
    "io.taskbroker.common.",
    "com.fasterxml.jackson.",
    "org.slf4j."
  };

  static {
    ClassLoader.registerAsParallelCapable();
  }

  PluginClassLoader(URL[] urls, ClassLoader parent) {
    super(urls, parent);
  }

  @Override
  protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
    for (String prefix : SHARED) {
      if (name.startsWith(prefix)) {
        return super.loadClass(name, resolve);
      }
    }
    synchronized (getClassLoadingLock(name)) {
      Class<?> loaded = findLoadedClass(name);
      if (loaded == null) {
        try {
          loaded = findClass(name);
        } catch (ClassNotFoundException e) {
          loaded = super.loadClass(name, false);
        }
      }
      if (resolve) {
        resolveClass(loaded);
      }
      return loaded;
    }
  }

  @Override
  public URL getResource(String name) {
    // Resources from the plugin's own jars first.
    URL own = findResource(name);
    return own != null ? own : super.getResource(name);
  }

  @Override
  public Enumeration<URL> getResources(String name) throws IOException {
    // Service files only from the plugin's own jars: through the parent, every plugin jar
    // would also list the worker's own plugins (and --no-examples would not hold).
    if (name.startsWith("META-INF/services/")) {
      return findResources(name);
    }
    return super.getResources(name);
  }
}
