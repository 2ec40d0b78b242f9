package io.taskbroker.worker.producer;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class AwaitedNotifiesTest {
  private static final long TRUST = AwaitedNotifies.TRUST_NANOS;

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
  void aNotifyArrivingBeforeItsWakeUpIsMatchedAndTheNextForeignOneStillClaims() {
    // The submit's NOTIFY overtook the client's wake-up call: both claim, and nothing is left
    // awaited that could swallow a notification from another process afterwards.
    assertThat(awaited.arrived(100)).isFalse();
    awaited.localSubmit(200);

    assertThat(awaited.arrived(300)).as("a foreign job's NOTIFY").isFalse();
  }

  @Test
  void aForeignNotifyBeforeALocalSubmitNeverLeadsToASkippedOne() {
    assertThat(awaited.arrived(100)).isFalse(); // foreign: credited
    awaited.localSubmit(200); // uses the credit, awaits nothing

    assertThat(awaited.arrived(300)).as("the local submit's own NOTIFY claims again").isFalse();
    assertThat(awaited.arrived(400)).as("and so does a later foreign one").isFalse();
  }

  @Test
  void aNotifyAwaitedTooLongWasLostAndTheCountIsDropped() {
    awaited.localSubmit(0);
    awaited.localSubmit(0);

    assertThat(awaited.arrived(TRUST)).isFalse();
    assertThat(awaited.arrived(TRUST + 1)).as("count dropped").isFalse();
  }

  @Test
  void anOldCreditIsNotUsedByALaterSubmit() {
    assertThat(awaited.arrived(0)).isFalse();
    awaited.localSubmit(TRUST); // the credit is too old: this submit awaits its NOTIFY

    assertThat(awaited.arrived(TRUST + 1)).isTrue();
  }

  @Test
  void clearForgetsWhatWasAwaitedAndCredited() {
    awaited.localSubmit(0);
    awaited.clear();
    assertThat(awaited.arrived(1)).isFalse();

    awaited.clear();
    awaited.localSubmit(2);
    assertThat(awaited.arrived(3)).as("no credit survived the clear").isTrue();
  }
}
