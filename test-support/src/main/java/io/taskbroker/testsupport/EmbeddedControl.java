package io.taskbroker.testsupport;

import java.nio.file.Path;

/**
 * What a test may know about the shared embedded PostgreSQL: where it listens and keeps its data.
 *
 * <p>It deliberately offers no way to stop the server, which every test class in the JVM shares; a
 * test that needs to stop or restart PostgreSQL starts its own {@link DedicatedPostgres}. Immutable
 * and thread-safe.
 *
 * @param port the TCP port on localhost
 * @param dataDirectory the server's data directory, deleted when the JVM exits
 */
public record EmbeddedControl(int port, Path dataDirectory) {}
