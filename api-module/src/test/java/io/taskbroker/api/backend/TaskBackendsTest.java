package io.taskbroker.api.backend;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TaskBackendsTest {

  @AfterEach
  void resetDefault() {
    TaskBackends.reset();
  }

  @Test
  void defaultIsOneSyncBackendUnlessSet() {
    TaskBackend first = TaskBackends.getDefault();

    assertThat(first).isInstanceOf(SyncTaskBackend.class);
    assertThat(TaskBackends.getDefault()).isSameAs(first);
  }

  @Test
  void setDefaultReplacesItAndReturnsThePreviousOne() {
    TaskBackend previous = TaskBackends.getDefault();
    AsyncFireAndTrackBackend async = new AsyncFireAndTrackBackend(1);

    assertThat(TaskBackends.setDefault(async)).isSameAs(previous);

    assertThat(TaskBackends.getDefault()).isSameAs(async);
    async.shutdown();
  }

  @Test
  void resetGivesAFreshSyncBackend() {
    TaskBackend before = TaskBackends.getDefault();

    TaskBackends.reset();

    assertThat(TaskBackends.getDefault()).isInstanceOf(SyncTaskBackend.class).isNotSameAs(before);
  }
}
