package io.taskbroker.outsider;

import io.taskbroker.testsupport.internal.ServerAddress;

/** Fixture for InternalPackagesTest: a class of another module that uses an internal type. */
public final class UsesAnInternalType {
  private ServerAddress address;

  public ServerAddress address() {
    return address;
  }
}
