package io.taskbroker.worker.producer;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class AwaitedNotifiesTest {
  private final AwaitedNotifies awaited = new AwaitedNotifies();

  @Test
  void aNotifyWithNoneAwaitedNeedsAClaim() {
    assertThat(awaited.arrived(0)).isFalse();
  }

  @Test
  void eachAnnouncedNotifyPassesOnceThenTheNextNeedsAClaim() {
    awaited.localSubmit(100);
    awaited.localSubmit(200);

    assertThat(awaited.arrived(300)).isTrue();
    assertThat(awaited.arrived(400)).isTrue();
    assertThat(awaited.arrived(500)).isFalse();
  }

  @Test
  void aNotifyAwaitedTooLongWasLostAndTheCountIsDropped() {
    awaited.localSubmit(0);
    awaited.localSubmit(0);

    assertThat(awaited.arrived(AwaitedNotifies.TRUST_NANOS)).isFalse();
    assertThat(awaited.arrived(AwaitedNotifies.TRUST_NANOS + 1)).as("count dropped").isFalse();
  }

  @Test
  void clearForgetsWhatWasAwaited() {
    awaited.localSubmit(0);

    awaited.clear();

    assertThat(awaited.arrived(1)).isFalse();
  }
}
