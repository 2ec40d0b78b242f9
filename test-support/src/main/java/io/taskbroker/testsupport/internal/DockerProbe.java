package io.taskbroker.testsupport.internal;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.testcontainers.DockerClientFactory;

/**
 * Tells whether a Docker engine answers, quickly and quietly when there is plainly none.
 *
 * <p>Testcontainers' own check tries every strategy it knows and logs an ERROR with advice when all
 * fail, which would greet every test run on a machine without Docker. So we first look for anything
 * that could lead to an engine (a {@code DOCKER_HOST}, a Testcontainers configuration file, a
 * socket file in one of the usual places, or Windows with its named pipe) and ask Testcontainers
 * only if we find one. A docker CLI alone is not an engine. Stateless and thread-safe.
 */
public final class DockerProbe {

  private final Map<String, String> environment;
  private final Path home;

  public DockerProbe(Map<String, String> environment, Path home) {
    this.environment = Map.copyOf(environment);
    this.home = home;
  }

  /** A probe of this JVM's environment and home directory. */
  public static DockerProbe ofThisJvm() {
    return new DockerProbe(System.getenv(), Path.of(System.getProperty("user.home")));
  }

  /** Whether a Docker engine answers; may take a few seconds when a hint points at a dead one. */
  public boolean engineAnswers() {
    return !hints().isEmpty() && DockerClientFactory.instance().isDockerAvailable();
  }

  /** What suggests an engine may exist; empty when nothing does. */
  public List<String> hints() {
    List<String> hints = new ArrayList<>();
    if (!environment.getOrDefault("DOCKER_HOST", "").isBlank()) {
      hints.add("DOCKER_HOST");
    }
    if (System.getProperty("docker.host") != null) {
      hints.add("-Ddocker.host");
    }
    if (System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows")) {
      hints.add("Windows named pipe");
    }
    List<Path> candidates = new ArrayList<>();
    candidates.add(home.resolve(".testcontainers.properties"));
    candidates.add(Path.of("/var/run/docker.sock"));
    candidates.add(Path.of("/run/docker.sock"));
    candidates.add(home.resolve(".docker/run/docker.sock"));
    candidates.add(home.resolve(".docker/desktop/docker.sock"));
    candidates.add(home.resolve(".colima/default/docker.sock"));
    candidates.add(home.resolve(".rd/docker.sock"));
    String runtimeDirectory = environment.getOrDefault("XDG_RUNTIME_DIR", "");
    if (!runtimeDirectory.isBlank()) {
      candidates.add(Path.of(runtimeDirectory, "docker.sock"));
    }
    for (Path candidate : candidates) {
      if (Files.exists(candidate)) {
        hints.add(candidate.toString());
      }
    }
    return hints;
  }
}
