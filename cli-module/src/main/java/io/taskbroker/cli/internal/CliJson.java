package io.taskbroker.cli.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.databind.ObjectWriter;
import io.taskbroker.common.Json;

/**
 * JSON as the command line prints it ({@code --json}, {@code submit --wait}): the same document,
 * but every character a terminal would act on written as a {@code \}{@code u} escape. Jackson
 * escapes only the C0 controls; DEL, the C1 controls and bidi overrides would reach the terminal
 * raw. The escaped text parses to exactly the same values. Thread-safe.
 */
public final class CliJson {
  private static final ObjectWriter WRITER = Json.mapper().writer(new TerminalEscapes());

  private CliJson() {}

  public static String write(Object value) {
    try {
      return WRITER.writeValueAsString(value);
    } catch (JsonProcessingException e) {
      throw new CliFailure(ExitCodes.ERROR, "cannot write as JSON: " + e.getOriginalMessage(), e);
    }
  }

  private static final class TerminalEscapes extends CharacterEscapes {
    private static final long serialVersionUID = 1L;
    private final int[] ascii = standardAsciiEscapesForJSON();

    TerminalEscapes() {
      ascii[0x7f] = ESCAPE_STANDARD;
    }

    @Override
    public int[] getEscapeCodesForAscii() {
      return ascii;
    }

    @Override
    public SerializableString getEscapeSequence(int ch) {
      if (Terminal.isUnsafe(ch)) {
        return new SerializedString(String.format("\\u%04x", ch));
      }
      return null;
    }
  }
}
