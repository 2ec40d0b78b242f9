package io.taskbroker.worker.decode;

import static io.taskbroker.worker.testing.Waits.within;
import static org.assertj.core.api.Assertions.assertThat;

import io.taskbroker.api.ClientConfig;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.InvalidJobException;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.common.NewJob;
import io.taskbroker.worker.testing.TestPlugin;
import io.taskbroker.worker.testing.WorkerDatabaseTest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.jdbi.v3.core.JdbiException;
import org.junit.jupiter.api.Test;

/**
 * Thousands of generated JSON documents, submitted with SQL ({@code taskbroker.submit}) and with
 * Java ({@code submitAll}), run by a real worker whose plugin returns its payload. Each valid
 * document reaches the plugin and comes back as its result with the same value; each flawed one is
 * refused at submit with a clear error, or (a depth PostgreSQL takes and a worker does not) fails
 * its own job as undecodable; and no document harms another's job.
 *
 * <p>The seed is printed; rerun one with {@code -Dfuzz.seed=<seed>}.
 */
class JsonRoundTripFuzzTest extends WorkerDatabaseTest {
  private static final String QUEUE = "fuzz";
  private static final int DOCUMENTS = 3_000;
  private static final int BATCH = 50;

  private record Submitted(RandomJson.Doc doc, String how) {}

  @Test
  void everyDocumentRoundTripsExactlyOrFailsAloneWithAClearError() {
    long seed = Long.getLong("fuzz.seed", 20261201L);
    System.out.println(
        "JsonRoundTripFuzzTest seed: " + seed + " (rerun with -Dfuzz.seed=" + seed + ")");
    Random random = new Random(seed);
    RandomJson sqlDocs = new RandomJson(random, Json.MAX_DEPTH, false);
    RandomJson javaDocs = new RandomJson(random, Json.MAX_DEPTH, true);

    Map<UUID, Submitted> submitted = new HashMap<>();
    Map<UUID, Object> receivedOk = new ConcurrentHashMap<>();
    int refusedAtSubmit = 0;
    TestPlugin echo =
        TestPlugin.named(
            QUEUE,
            context -> {
              receivedOk.put(context.jobId(), Boolean.TRUE);
              return context.payload();
            });
    try (TaskBrokerClient client =
        TaskBrokerClient.create(database, ClientConfig.builder().migrate(false).build())) {
      workers.start(QUEUE, 8, echo);
      List<NewJob> batch = new ArrayList<>();
      List<RandomJson.Doc> batchDocs = new ArrayList<>();
      List<RandomJson.Doc> sqlBatch = new ArrayList<>();
      for (int i = 0; i < DOCUMENTS; i++) {
        boolean last = i >= DOCUMENTS - 2;
        if (i % 2 == 0) {
          sqlBatch.add(sqlDocs.next());
          if (sqlBatch.size() == BATCH || last) {
            refusedAtSubmit += submitWithSql(sqlBatch, submitted);
            sqlBatch.clear();
          }
        } else {
          RandomJson.Doc doc = javaDocs.next();
          try {
            batch.add(NewJob.builder(QUEUE).queue(QUEUE).payloadJson(doc.text()).build());
            batchDocs.add(doc);
          } catch (InvalidJobException e) {
            assertThat(doc.valid())
                .as("Java refused a valid document: %s\n%s", e.getMessage(), doc.text())
                .isFalse();
            assertThat(e.getMessage())
                .containsAnyOf("lone surrogate", "NUL", "nesting depth", "nests deeper");
            refusedAtSubmit++;
          }
          if (batch.size() == BATCH || last) {
            List<UUID> ids = client.submitAll(batch);
            for (int j = 0; j < ids.size(); j++) {
              submitted.put(ids.get(j), new Submitted(batchDocs.get(j), "java"));
            }
            batch.clear();
            batchDocs.clear();
          }
        }
      }
      assertThat(sqlBatch).isEmpty();
      assertThat(batch).isEmpty();

      within(90)
          .until(
              () ->
                  jobs.count(QUEUE, JobStatus.PENDING) + jobs.count(QUEUE, JobStatus.RUNNING) == 0);

      int completed = 0;
      int undecodable = 0;
      List<String> problems = new ArrayList<>();
      List<UUID> ids = new ArrayList<>(submitted.keySet());
      for (int from = 0; from < ids.size(); from += 500) {
        for (Job job : client.getAll(ids.subList(from, Math.min(ids.size(), from + 500)))) {
          Submitted what = submitted.get(job.id());
          if (what.doc().valid()) {
            if (job.status() != JobStatus.COMPLETED) {
              problems.add(
                  what.how() + " " + job.id() + " ended " + job.status() + ": " + job.error());
              continue;
            }
            String payloadDiff = JsonSemantics.difference(what.doc().expected(), job.payload());
            String resultDiff = JsonSemantics.difference(what.doc().expected(), job.result());
            if (payloadDiff != null || resultDiff != null) {
              problems.add(
                  what.how()
                      + " "
                      + job.id()
                      + " changed: payload "
                      + payloadDiff
                      + ", result "
                      + resultDiff);
            }
            completed++;
          } else {
            // Only a depth PostgreSQL takes but a worker does not gets this far.
            if (job.status() != JobStatus.FAILED
                || job.attempt() != 1
                || !job.errors().get(0).path("kind").asText().equals("undecodable")
                || receivedOk.containsKey(job.id())) {
              problems.add(
                  what.how()
                      + " flawed ("
                      + what.doc().flaw()
                      + ") "
                      + job.id()
                      + " ended "
                      + job.status()
                      + " after "
                      + job.attempt()
                      + ": "
                      + job.error());
            }
            undecodable++;
          }
        }
      }
      System.out.printf(
          "JsonRoundTripFuzzTest: %d documents; %d round-tripped exactly, %d refused at submit,"
              + " %d failed alone as undecodable%n",
          DOCUMENTS, completed, refusedAtSubmit, undecodable);
      assertThat(problems).isEmpty();
      assertThat(completed + refusedAtSubmit + undecodable).isEqualTo(DOCUMENTS);
      assertThat(refusedAtSubmit).as("the generator exercises refusals").isPositive();
      assertThat(undecodable).as("the generator exercises undecodable rows").isPositive();
    }
  }

  /**
   * Submits each document with {@code taskbroker.submit}, all in one transaction (a savepoint each,
   * so a refused one is rolled back alone), as an application would.
   *
   * @return how many PostgreSQL refused
   */
  private int submitWithSql(List<RandomJson.Doc> docs, Map<UUID, Submitted> submitted) {
    return jobs.jdbi()
        .inTransaction(
            handle -> {
              int refused = 0;
              for (RandomJson.Doc doc : docs) {
                handle.savepoint("doc");
                try {
                  UUID id =
                      handle
                          .createQuery(
                              "SELECT taskbroker.submit(:plugin, CAST(:payload AS jsonb), :queue)")
                          .bind("plugin", QUEUE)
                          .bind("payload", doc.text())
                          .bind("queue", QUEUE)
                          .mapTo(UUID.class)
                          .one();
                  submitted.put(id, new Submitted(doc, "sql"));
                  handle.releaseSavepoint("doc");
                } catch (JdbiException e) {
                  handle.rollbackToSavepoint("doc");
                  assertThat(doc.valid())
                      .as("PostgreSQL refused a valid document: %s\n%s", e.getMessage(), doc.text())
                      .isFalse();
                  refused++;
                }
              }
              return refused;
            });
  }
}
