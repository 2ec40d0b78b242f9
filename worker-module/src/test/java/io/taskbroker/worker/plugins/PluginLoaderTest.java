package io.taskbroker.worker.plugins;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.taskbroker.api.plugin.TaskPlugin;
import io.taskbroker.common.InvalidConfigException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PluginLoaderTest {
  private static final String SERVICES = "META-INF/services/" + TaskPlugin.class.getName();

  @TempDir Path dir;

  /** A jar holding {@link JarredPlugin}'s class file and, if asked, its services entry. */
  private static Path writeJar(Path jar, boolean withServicesFile) throws IOException {
    String classFile = JarredPlugin.class.getName().replace('.', '/') + ".class";
    Files.createDirectories(jar.getParent());
    try (OutputStream file = Files.newOutputStream(jar);
        JarOutputStream out = new JarOutputStream(file);
        InputStream bytes = JarredPlugin.class.getClassLoader().getResourceAsStream(classFile)) {
      assertThat(bytes).as("class file %s", classFile).isNotNull();
      out.putNextEntry(new JarEntry(classFile));
      bytes.transferTo(out);
      out.closeEntry();
      if (withServicesFile) {
        out.putNextEntry(new JarEntry(SERVICES));
        out.write((JarredPlugin.class.getName() + "\n").getBytes(StandardCharsets.UTF_8));
        out.closeEntry();
      }
    }
    return jar;
  }

  private static List<String> names(List<TaskPlugin> plugins) {
    return plugins.stream().map(TaskPlugin::name).toList();
  }

  @Test
  void theRuntimeRegistersNoPluginOfItsOwn() {
    // An application embedding the worker runs its own plugins only; the examples live in the CLI.
    assertThat(PluginLoader.load(null)).isEmpty();
  }

  @Test
  void aJarInThePluginsDirectoryIsLoadedInAClassLoaderOfItsOwn() throws IOException {
    writeJar(dir.resolve("jarred.jar"), true);

    List<TaskPlugin> plugins = PluginLoader.load(dir);

    TaskPlugin jarred =
        plugins.stream().filter(p -> p.name().equals("jarred")).findFirst().orElseThrow();
    assertThat(jarred.getClass().getName()).isEqualTo(JarredPlugin.class.getName());
    // Child-first: the jar's copy of the class, not the test classpath's.
    assertThat(jarred.getClass()).isNotSameAs(JarredPlugin.class);
    assertThat(jarred.getClass().getClassLoader()).isInstanceOf(PluginClassLoader.class);
    assertThat(PluginRegistry.of(plugins).find("jarred")).containsSame(jarred);
  }

  @Test
  void aSubdirectoryOfJarsIsOnePluginUnit() throws IOException {
    writeJar(dir.resolve("resize").resolve("plugin.jar"), true);

    assertThat(names(PluginLoader.load(dir))).contains("jarred");
  }

  @Test
  void pluginsDirectoryListsEachPluginOnce() throws IOException {
    writeJar(dir.resolve("jarred.jar"), true);

    assertThat(names(PluginLoader.load(dir))).containsExactly("jarred");
  }

  @Test
  void aJarWithoutAServicesFileAddsNoPlugin() throws IOException {
    writeJar(dir.resolve("bare.jar"), false);

    assertThat(names(PluginLoader.load(dir))).doesNotContain("jarred");
  }

  @Test
  void aMissingPluginsDirectoryIsAConfigErrorNamingIt() {
    Path missing = dir.resolve("nowhere");

    assertThatThrownBy(() -> PluginLoader.load(missing))
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining(missing.toString());
  }
}
