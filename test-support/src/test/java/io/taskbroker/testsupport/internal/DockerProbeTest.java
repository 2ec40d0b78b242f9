package io.taskbroker.testsupport.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DockerProbeTest {

  @TempDir Path home;

  @Test
  void dockerHostIsAHint() {
    DockerProbe probe = new DockerProbe(Map.of("DOCKER_HOST", "tcp://127.0.0.1:2375"), home);

    assertThat(probe.hints()).contains("DOCKER_HOST");
  }

  @Test
  void socketInTheHomeDirectoryIsAHint() throws IOException {
    Path socket = home.resolve(".docker/run/docker.sock");
    Files.createDirectories(socket.getParent());
    Files.createFile(socket);

    assertThat(new DockerProbe(Map.of(), home).hints()).contains(socket.toString());
  }

  @Test
  void testcontainersConfigurationIsAHint() throws IOException {
    Path configuration = Files.createFile(home.resolve(".testcontainers.properties"));

    assertThat(new DockerProbe(Map.of(), home).hints()).contains(configuration.toString());
  }
}
