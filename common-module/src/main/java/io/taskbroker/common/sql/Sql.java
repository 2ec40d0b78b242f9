package io.taskbroker.common.sql;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** Loads the named SQL statements that live beside this class as {@code .sql} resources. */
final class Sql {
  private Sql() {}

  static String load(String name) {
    String resource = name + ".sql";
    try (InputStream in = Sql.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing SQL resource " + resource + " (a build bug)");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read SQL resource " + resource, e);
    }
  }
}
