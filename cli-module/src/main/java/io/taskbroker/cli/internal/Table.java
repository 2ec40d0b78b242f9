package io.taskbroker.cli.internal;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A plain text table: a header row, left-aligned columns two spaces apart. Every cell is shown on
 * one line, cut to {@value #MAX_CELL} characters and made safe for a terminal ({@link Terminal}),
 * whatever the database holds. Not thread-safe.
 */
public final class Table {
  /** A cell longer than this is cut, with a marker saying how much more there is. */
  public static final int MAX_CELL = 120;

  private final List<String> header;
  private final List<List<String>> rows = new ArrayList<>();

  public Table(String... header) {
    this.header = List.of(header);
  }

  /** Adds a row; null cells print as {@code -}. */
  public Table row(Object... cells) {
    if (cells.length != header.size()) {
      throw new IllegalArgumentException(
          "expected " + header.size() + " cells, got " + Arrays.toString(cells));
    }
    List<String> row = new ArrayList<>(cells.length);
    for (Object cell : cells) {
      row.add(cell == null ? "-" : display(cell.toString(), MAX_CELL));
    }
    rows.add(row);
    return this;
  }

  public boolean isEmpty() {
    return rows.isEmpty();
  }

  public void print(PrintWriter out) {
    print(out, "");
  }

  /** Prints every line after {@code indent}. */
  public void print(PrintWriter out, String indent) {
    int[] widths = new int[header.size()];
    for (int column = 0; column < widths.length; column++) {
      widths[column] = header.get(column).length();
      for (List<String> row : rows) {
        widths[column] = Math.max(widths[column], row.get(column).length());
      }
    }
    printRow(out, indent, header, widths);
    for (List<String> row : rows) {
      printRow(out, indent, row, widths);
    }
  }

  private static void printRow(PrintWriter out, String indent, List<String> cells, int[] widths) {
    StringBuilder line = new StringBuilder(indent);
    for (int column = 0; column < cells.size(); column++) {
      String cell = cells.get(column);
      line.append(cell);
      if (column < cells.size() - 1) {
        line.append(" ".repeat(widths[column] - cell.length() + 2));
      }
    }
    out.println(line);
  }

  /**
   * The text as one safe line of at most {@code max} characters of the value (plus a marker when it
   * is cut): an error of 20 MB must not flood the terminal, and a stored escape sequence must not
   * act on it.
   */
  public static String display(String text, int max) {
    String shown = text;
    String marker = "";
    if (text.length() > max) {
      int end = Character.isHighSurrogate(text.charAt(max - 1)) ? max - 1 : max;
      shown = text.substring(0, end);
      marker = "… (" + (text.length() - end) + " more characters)";
    }
    return Terminal.safe(oneLine(shown)) + marker;
  }

  /** Collapses line breaks so one value never spans rows. */
  public static String oneLine(String text) {
    return text.replaceAll("\\s*[\\r\\n]+\\s*", " ").strip();
  }
}
