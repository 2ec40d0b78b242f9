package io.taskbroker.common.sql;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A statement from a {@code .sql} resource made ready for plain JDBC: each {@code :name} parameter
 * becomes a {@code ?} and its positions are remembered, so values are set by name; comments are
 * dropped so they do not travel with every execution. Quoted text, quoted identifiers and {@code
 * ::} casts are left alone.
 *
 * <p>The hot statements (insert, claim, complete, heartbeat) run through this rather than Jdbi:
 * Jdbi copies its configuration for every handle and statement, which cost about 100 µs of CPU per
 * one-row submit here, more than the statement's own round trip. Immutable and thread-safe.
 */
final class NamedSql {
  private final String jdbc;
  private final Map<String, int[]> positions;

  private NamedSql(String jdbc, Map<String, int[]> positions) {
    this.jdbc = jdbc;
    this.positions = positions;
  }

  static NamedSql load(String resource) {
    return parse(Sql.load(resource));
  }

  static NamedSql parse(String sql) {
    StringBuilder out = new StringBuilder(sql.length());
    Map<String, List<Integer>> found = new HashMap<>();
    int count = 0;
    int i = 0;
    int n = sql.length();
    while (i < n) {
      char c = sql.charAt(i);
      if (c == '-' && i + 1 < n && sql.charAt(i + 1) == '-') {
        while (i < n && sql.charAt(i) != '\n') {
          i++;
        }
      } else if (c == '\'' || c == '"') {
        int end = sql.indexOf(c, i + 1);
        if (end < 0) {
          throw new IllegalArgumentException("unterminated quote in SQL: " + sql);
        }
        out.append(sql, i, end + 1);
        i = end + 1;
      } else if (c == ':' && i + 1 < n && sql.charAt(i + 1) == ':') {
        out.append("::");
        i += 2;
      } else if (c == ':' && i + 1 < n && Character.isJavaIdentifierStart(sql.charAt(i + 1))) {
        int end = i + 1;
        while (end < n && Character.isJavaIdentifierPart(sql.charAt(end))) {
          end++;
        }
        found.computeIfAbsent(sql.substring(i + 1, end), k -> new ArrayList<>()).add(++count);
        out.append('?');
        i = end;
      } else {
        out.append(c);
        i++;
      }
    }
    Map<String, int[]> positions = new HashMap<>();
    found.forEach(
        (name, list) -> positions.put(name, list.stream().mapToInt(Integer::intValue).toArray()));
    return new NamedSql(out.toString().strip(), Map.copyOf(positions));
  }

  String jdbc() {
    return jdbc;
  }

  /** The names of the statement's parameters, without the colon. */
  java.util.Set<String> parameterNames() {
    return positions.keySet();
  }

  /** Prepares the statement on {@code connection}; set its parameters with the returned binder. */
  Binder prepare(Connection connection) throws SQLException {
    return new Binder(connection, connection.prepareStatement(jdbc));
  }

  /** Sets one parameter position. */
  private interface Setter {
    void set(int position) throws SQLException;
  }

  /** Sets the parameters of one prepared execution by name. Not thread-safe. */
  final class Binder implements AutoCloseable {
    private final Connection connection;
    private final PreparedStatement statement;

    private Binder(Connection connection, PreparedStatement statement) {
      this.connection = connection;
      this.statement = statement;
    }

    PreparedStatement statement() {
      return statement;
    }

    Binder text(String name, String value) throws SQLException {
      return each(name, p -> statement.setString(p, value));
    }

    Binder int4(String name, int value) throws SQLException {
      return each(name, p -> statement.setInt(p, value));
    }

    Binder int8(String name, long value) throws SQLException {
      return each(name, p -> statement.setLong(p, value));
    }

    Binder bool(String name, boolean value) throws SQLException {
      return each(name, p -> statement.setBoolean(p, value));
    }

    /** Binds a PostgreSQL array of {@code elementType} ("uuid", "text", "int4", ...). */
    Binder array(String name, String elementType, Object[] elements) throws SQLException {
      java.sql.Array array = connection.createArrayOf(elementType, elements);
      return each(name, p -> statement.setArray(p, array));
    }

    @Override
    public void close() throws SQLException {
      statement.close();
    }

    private Binder each(String name, Setter setter) throws SQLException {
      for (int p : positions(name)) {
        setter.set(p);
      }
      return this;
    }

    private int[] positions(String name) {
      int[] at = NamedSql.this.positions.get(name);
      if (at == null) {
        throw new IllegalArgumentException("no parameter :" + name + " in " + jdbc);
      }
      return at;
    }
  }
}
