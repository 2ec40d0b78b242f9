package io.taskbroker.outsider;

/**
 * Fixture for InternalPackagesTest: a string that looks like an internal package is text, not a use
 * of it.
 */
public final class MentionsAnInternalPath {
  public String resource() {
    return "io/taskbroker/testsupport/internal/Resource.sql";
  }
}
