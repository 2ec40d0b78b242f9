package io.taskbroker.dashboard;

import static io.taskbroker.dashboard.DashboardTestSupport.READ_ONLY;
import static io.taskbroker.dashboard.DashboardTestSupport.TOKEN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.InvalidConfigException;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.NewJob;
import io.taskbroker.common.QueueLimits;
import io.taskbroker.common.ScheduleDefinition;
import io.taskbroker.testsupport.TestDatabase;
import io.taskbroker.testsupport.WithPostgres;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every endpoint of the HTTP API over a real server and database: reads, actions, access, errors.
 */
@WithPostgres
class DashboardApiTest {
  private static TestDatabase db;
  private static TaskBrokerClient client;
  private static Dashboard open;
  private static Dashboard guarded;
  private static Http anonymous;
  private static Http operator;
  private static Http readOnly;

  @BeforeAll
  static void start(TestDatabase database) {
    db = database;
    client = DashboardTestSupport.client(db);
    open =
        Dashboard.builder().client(client).statsInterval(Duration.ofMillis(200)).build().start(0);
    guarded =
        Dashboard.builder()
            .client(client)
            .token(TOKEN)
            .readOnlyToken(READ_ONLY)
            .statsInterval(Duration.ofMillis(200))
            .build()
            .start(0);
    String base = "http://127.0.0.1:" + guarded.port();
    anonymous = new Http(base);
    operator = new Http(base).bearer(TOKEN);
    readOnly = new Http(base).bearer(READ_ONLY);
  }

  @AfterAll
  static void stop() {
    open.close();
    guarded.close();
    client.close();
  }

  private static UUID finished(String queue, String plugin, String status, String error)
      throws Exception {
    UUID id = UUID.randomUUID();
    try (Connection connection = db.connect();
        PreparedStatement insert =
            connection.prepareStatement(
                "INSERT INTO taskbroker.jobs (id, queue, plugin, payload, status, attempt,"
                    + " completed_at, started_at, error, errors) VALUES (?, ?, ?,"
                    + " '{\"password\":\"hunter2\",\"user\":\"ann\"}', ?, 1, now(), now(), ?,"
                    + " jsonb_build_array(jsonb_build_object('attempt', 1, 'kind', 'error',"
                    + " 'error', ?::text)))")) {
      insert.setObject(1, id);
      insert.setString(2, queue);
      insert.setString(3, plugin);
      insert.setString(4, status);
      insert.setString(5, error);
      insert.setString(6, error == null ? "" : error);
      insert.executeUpdate();
    }
    return id;
  }

  @Test
  void withoutATokenTheLoopbackDashboardAnswersAndStillWantsACsrfTokenToAct() {
    Http local = new Http("http://127.0.0.1:" + open.port());
    JsonNode me = local.get("/api/me").body();
    assertThat(me.path("role").asText()).isEqualTo("operator");
    assertThat(me.path("auth_required").asBoolean()).isFalse();
    UUID id = client.submit(NewJob.builder("p").queue("csrf").build());

    Http.Answer refused = local.post("/api/jobs/" + id + "/cancel", "{}");
    assertThat(refused.status()).isEqualTo(403);
    assertThat(refused.body().path("code").asText()).isEqualTo("csrf");
    assertThat(client.require(id).status()).isEqualTo(JobStatus.PENDING);

    Http.Answer done =
        local.session(null, me.path("csrf").asText()).post("/api/jobs/" + id + "/cancel", "{}");
    assertThat(done.status()).isEqualTo(200);
    assertThat(client.require(id).status()).isEqualTo(JobStatus.CANCELLED);
  }

  @Test
  void withoutATokenTheDashboardRefusesAnyAddressButLoopback() {
    assertThatThrownBy(() -> Dashboard.builder().client(client).host("0.0.0.0").build())
        .isInstanceOf(InvalidConfigException.class)
        .hasMessageContaining("not a loopback address");
    // With a token it may bind anywhere (not started here: the suite binds loopback only).
    assertThat(
            Dashboard.builder().client(client).host("0.0.0.0").token(TOKEN).build().config().host())
        .isEqualTo("0.0.0.0");
  }

  @Test
  void aForeignHostHeaderIsRefusedWithoutAToken() {
    Http local = new Http("http://127.0.0.1:" + open.port());
    HttpResponse<String> response =
        local.raw(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + open.port() + "/api/me"))
                .header("X-Forwarded-Host", "ignored"));
    assertThat(response.statusCode()).isEqualTo(200);
  }

  @Test
  void everyApiCallWithoutTheTokenIs401WithAJsonError() throws Exception {
    for (String path :
        List.of(
            "/api/me",
            "/api/queues",
            "/api/jobs",
            "/api/workers",
            "/api/schedules",
            "/api/stats/series",
            "/api/jobs/" + UUID.randomUUID())) {
      Http.Answer answer = anonymous.get(path);
      assertThat(answer.status()).as(path).isEqualTo(401);
      assertThat(answer.error()).as(path).contains("sign in");
    }
    assertThat(
            new Http("http://127.0.0.1:" + guarded.port())
                .bearer("wrong-token-000000000")
                .get("/api/jobs")
                .status())
        .isEqualTo(401);
    UUID failed = finished("anonymous", "p", "failed", "boom");
    for (Http.Answer answer :
        List.of(
            anonymous.post("/api/jobs/" + UUID.randomUUID() + "/cancel", "{}"),
            anonymous.post("/api/jobs/" + failed + "/retry", "{}"),
            anonymous.get("/api/jobs/bulk/count?status=failed&queue=anonymous"),
            anonymous.post(
                "/api/jobs/bulk/retry",
                "{\"status\":\"failed\",\"queue\":\"anonymous\"," + "\"confirm\":true}"),
            anonymous.post(
                "/api/jobs/bulk/delete",
                "{\"status\":\"failed\",\"queue\":\"anonymous\"," + "\"confirm\":true}"),
            anonymous.post("/api/queues/anonymous/pause", "{}"),
            anonymous.post("/api/queues/anonymous/resume", "{}"))) {
      assertThat(answer.status()).isEqualTo(401);
      assertThat(answer.body().path("code").asText()).isEqualTo("unauthorized");
    }
    assertThat(client.require(failed).status()).isEqualTo(JobStatus.FAILED);
    assertThat(client.queues().get("anonymous")).isEmpty();
  }

  @Test
  void aReadOnlyTokenSeesButEveryActionIs403() throws Exception {
    UUID id = client.submit(NewJob.builder("p").queue("ro").build());
    UUID failed = finished("ro", "p", "failed", "boom");
    assertThat(readOnly.get("/api/jobs/" + id).status()).isEqualTo(200);
    assertThat(readOnly.get("/api/me").body().path("can_act").asBoolean()).isFalse();
    List<Http.Answer> answers =
        List.of(
            readOnly.post("/api/jobs/" + id + "/cancel", "{}"),
            readOnly.post("/api/jobs/" + failed + "/retry", "{}"),
            readOnly.delete("/api/jobs/" + failed),
            readOnly.post("/api/jobs/bulk/retry", "{\"status\":\"failed\",\"confirm\":true}"),
            readOnly.post(
                "/api/jobs/bulk/cancel",
                "{\"status\":\"pending\",\"queue\":\"ro\",\"confirm\":true}"),
            readOnly.post(
                "/api/jobs/bulk/delete",
                "{\"status\":\"failed\",\"queue\":\"ro\",\"confirm\":true}"),
            readOnly.post("/api/queues/ro/pause", "{}"),
            readOnly.post("/api/queues/ro/resume", "{}"),
            readOnly.post("/api/schedules/x/trigger", "{}"));
    for (Http.Answer answer : answers) {
      assertThat(answer.status()).isEqualTo(403);
      assertThat(answer.body().path("code").asText()).isEqualTo("read_only");
    }
    assertThat(client.require(id).status()).isEqualTo(JobStatus.PENDING);
    assertThat(client.require(failed).status()).isEqualTo(JobStatus.FAILED);
    assertThat(client.queues().get("ro")).isEmpty();
    // The read-only token still sees the bulk count (it is a read).
    assertThat(readOnly.get("/api/jobs/bulk/count?status=failed&queue=ro").body().path("count"))
        .hasToString("1");
  }

  @Test
  void actionsWithoutTheCsrfTokenAreRefusedAndChangeNothing() throws Exception {
    Http local = new Http("http://127.0.0.1:" + open.port());
    UUID failed = finished("csrf-actions", "p", "failed", "boom");
    for (Http.Answer answer :
        List.of(
            local.post("/api/jobs/" + failed + "/retry", "{}"),
            local.post(
                "/api/jobs/bulk/retry",
                "{\"status\":\"failed\",\"queue\":\"csrf-actions\",\"confirm\":true}"),
            local.post(
                "/api/jobs/bulk/delete",
                "{\"status\":\"failed\",\"queue\":\"csrf-actions\",\"confirm\":true}"),
            local.post("/api/queues/csrf-actions/pause", "{}"),
            local
                .session(null, "not-the-csrf-token")
                .post("/api/queues/csrf-actions/pause", "{}"))) {
      assertThat(answer.status()).isEqualTo(403);
      assertThat(answer.body().path("code").asText()).isEqualTo("csrf");
    }
    assertThat(client.require(failed).status()).isEqualTo(JobStatus.FAILED);
    assertThat(client.queues().get("csrf-actions")).isEmpty();
  }

  @Test
  void retryPutsAFailedJobBackToPendingAndRefusesALiveOne() throws Exception {
    UUID failed = finished("retry", "p", "failed", "boom");
    UUID cancelled = finished("retry", "p", "cancelled", null);
    UUID pending = client.submit(NewJob.builder("p").queue("retry").build());

    Http.Answer retried = operator.post("/api/jobs/" + failed + "/retry", "{}");
    assertThat(retried.status()).isEqualTo(200);
    assertThat(retried.body().path("status").asText()).isEqualTo("pending");
    assertThat(client.require(failed).status()).isEqualTo(JobStatus.PENDING);
    // Its history stays: the failed attempt is still listed.
    assertThat(client.require(failed).errors()).hasSize(1);
    assertThat(operator.post("/api/jobs/" + cancelled + "/retry", "{}").status()).isEqualTo(200);
    assertThat(client.require(cancelled).status()).isEqualTo(JobStatus.PENDING);

    Http.Answer live = operator.post("/api/jobs/" + pending + "/retry", "{}");
    assertThat(live.status()).isEqualTo(409);
    assertThat(live.error()).contains("only a failed or cancelled job").contains("pending");
    assertThat(operator.post("/api/jobs/" + UUID.randomUUID() + "/retry", "{}").status())
        .isEqualTo(404);
    assertThat(operator.post("/api/jobs/nope/retry", "{}").error()).contains("malformed job id");
  }

  @Test
  void bulkActionsOnAFilterAreCountedConfirmedAndTouchOnlyThatFilter() throws Exception {
    List<UUID> targets = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      targets.add(finished("bulk-a", "x", "failed", "boom " + i));
    }
    UUID otherQueue = finished("bulk-b", "x", "failed", "boom");
    UUID otherPlugin = finished("bulk-a", "y", "failed", "boom");
    UUID completed = finished("bulk-a", "x", "completed", null);
    String filter = "\"queue\":\"bulk-a\",\"plugin\":\"x\"";

    JsonNode count =
        operator.get("/api/jobs/bulk/count?status=failed&queue=bulk-a&plugin=x").body();
    assertThat(count.path("count").asLong()).isEqualTo(3);
    assertThat(count.path("more").asBoolean()).isFalse();

    // Without the confirmation nothing happens.
    Http.Answer unconfirmed =
        operator.post("/api/jobs/bulk/retry", "{\"status\":\"failed\"," + filter + "}");
    assertThat(unconfirmed.status()).isEqualTo(400);
    assertThat(unconfirmed.error()).contains("confirm");
    assertThat(statuses(targets)).containsOnly(JobStatus.FAILED);

    Http.Answer retried =
        operator.post(
            "/api/jobs/bulk/retry", "{\"status\":\"failed\"," + filter + ",\"confirm\":true}");
    assertThat(retried.status()).isEqualTo(200);
    assertThat(retried.body().path("action").asText()).isEqualTo("retry");
    assertThat(retried.body().path("count").asLong()).isEqualTo(3);
    assertThat(statuses(targets)).containsOnly(JobStatus.PENDING);
    assertThat(client.require(otherQueue).status()).isEqualTo(JobStatus.FAILED);
    assertThat(client.require(otherPlugin).status()).isEqualTo(JobStatus.FAILED);

    assertThat(
            operator
                .get("/api/jobs/bulk/count?status=pending&queue=bulk-a&plugin=x")
                .body()
                .path("count")
                .asLong())
        .isEqualTo(3);
    Http.Answer cancelled =
        operator.post(
            "/api/jobs/bulk/cancel", "{\"status\":\"pending\"," + filter + ",\"confirm\":true}");
    assertThat(cancelled.body().path("count").asLong()).isEqualTo(3);
    assertThat(statuses(targets)).containsOnly(JobStatus.CANCELLED);

    Http.Answer deleted =
        operator.post(
            "/api/jobs/bulk/delete", "{\"status\":\"cancelled\"," + filter + ",\"confirm\":true}");
    assertThat(deleted.body().path("count").asLong()).isEqualTo(3);
    for (UUID id : targets) {
      assertThat(client.get(id)).as("deleted %s", id).isEmpty();
    }
    assertThat(client.get(otherQueue)).isPresent();
    assertThat(client.get(otherPlugin)).isPresent();
    assertThat(client.require(completed).status()).isEqualTo(JobStatus.COMPLETED);

    // A status the action does not take is refused before anything runs.
    Http.Answer wrong =
        operator.post(
            "/api/jobs/bulk/cancel", "{\"status\":\"failed\"," + filter + ",\"confirm\":true}");
    assertThat(wrong.status()).isEqualTo(400);
    assertThat(wrong.error()).contains("bulk cancel takes pending, running jobs, not failed");
    assertThat(
            operator
                .post("/api/jobs/bulk/delete", "{\"queue\":\"bulk-a\",\"confirm\":true}")
                .error())
        .contains("exactly one status");
  }

  private static List<JobStatus> statuses(List<UUID> ids) {
    return ids.stream().map(id -> client.require(id).status()).toList();
  }

  @Test
  void pauseAndResumeAQueueAndTheOverviewShowsItsStateAndLimits() {
    client.submit(NewJob.builder("p").queue("controlled").build());
    Http.Answer paused = operator.post("/api/queues/controlled/pause", "{}");
    assertThat(paused.status()).isEqualTo(200);
    assertThat(paused.body().path("paused").asBoolean()).isTrue();
    assertThat(paused.body().path("changed").asBoolean()).isTrue();
    assertThat(client.queues().get("controlled").orElseThrow().paused()).isTrue();
    assertThat(
            operator.post("/api/queues/controlled/pause", "{}").body().path("changed").asBoolean())
        .isFalse();
    client
        .queues()
        .setLimits(
            "controlled",
            QueueLimits.builder()
                .globalConcurrency(3)
                .rate(50, Duration.ofSeconds(10))
                .keyConcurrency(1)
                .build());
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              JsonNode queue = findQueue(operator.get("/api/queues").body(), "controlled");
              assertThat(queue).isNotNull();
              assertThat(queue.path("paused").asBoolean()).isTrue();
              assertThat(queue.path("paused_at").isTextual()).isTrue();
              JsonNode limits = queue.path("limits");
              assertThat(limits.path("global_concurrency").asInt()).isEqualTo(3);
              assertThat(limits.path("rate_limit").asInt()).isEqualTo(50);
              assertThat(limits.path("rate_period_ms").asLong()).isEqualTo(10_000);
              assertThat(limits.path("key_concurrency").asInt()).isEqualTo(1);
            });

    Http.Answer resumed = operator.post("/api/queues/controlled/resume", "{}");
    assertThat(resumed.status()).isEqualTo(200);
    assertThat(resumed.body().path("paused").asBoolean()).isFalse();
    assertThat(client.queues().get("controlled").orElseThrow().paused()).isFalse();
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(
                        findQueue(operator.get("/api/queues").body(), "controlled")
                            .path("paused")
                            .asBoolean())
                    .isFalse());
    Http.Answer tooLong = operator.post("/api/queues/" + "q".repeat(200) + "/pause", "{}");
    assertThat(tooLong.status()).isEqualTo(400);
    assertThat(tooLong.error()).contains("queue");
  }

  @Test
  void signInSetsASessionWhoseActionsNeedItsCsrfToken() {
    Http fresh = new Http("http://127.0.0.1:" + guarded.port());
    assertThat(fresh.post("/api/session", "{\"token\":\"not-the-token-00000\"}").status())
        .isEqualTo(401);
    HttpResponse<String> signedIn =
        fresh.raw(
            HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + guarded.port() + "/api/session"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"token\":\"" + TOKEN + "\"}")));
    assertThat(signedIn.statusCode()).isEqualTo(200);
    String cookie = signedIn.headers().firstValue("Set-Cookie").orElseThrow();
    assertThat(cookie).contains("HttpOnly").containsIgnoringCase("SameSite=Strict");
    String session = cookie.substring(0, cookie.indexOf(';'));
    String csrf = io.taskbroker.common.Json.parse(signedIn.body()).path("csrf").asText();
    UUID id = client.submit(NewJob.builder("p").queue("session").build());

    assertThat(
            new Http("http://127.0.0.1:" + guarded.port())
                .session(session, null)
                .get("/api/me")
                .status())
        .isEqualTo(200);
    Http.Answer noCsrf =
        new Http("http://127.0.0.1:" + guarded.port())
            .session(session, null)
            .post("/api/jobs/" + id + "/cancel", "{}");
    assertThat(noCsrf.status()).isEqualTo(403);
    assertThat(noCsrf.body().path("code").asText()).isEqualTo("csrf");
    Http.Answer ok =
        new Http("http://127.0.0.1:" + guarded.port())
            .session(session, csrf)
            .post("/api/jobs/" + id + "/cancel", "{}");
    assertThat(ok.status()).isEqualTo(200);
    assertThat(ok.body().path("status").asText()).isEqualTo("cancelled");
  }

  @Test
  void badInputIsAClearJsonError() {
    Http.Answer unknown = operator.get("/api/jobs/" + UUID.randomUUID());
    assertThat(unknown.status()).isEqualTo(404);
    assertThat(unknown.error()).startsWith("no job ");
    Http.Answer malformed = operator.get("/api/jobs/not-a-uuid");
    assertThat(malformed.status()).isEqualTo(400);
    assertThat(malformed.error()).contains("malformed job id 'not-a-uuid'");
    Http.Answer status = operator.get("/api/jobs?status=exploded");
    assertThat(status.status()).isEqualTo(400);
    assertThat(status.error()).contains("unknown status 'exploded'").contains("pending, running");
    assertThat(operator.get("/api/jobs?cursor=zzz").error()).contains("malformed cursor");
    assertThat(operator.get("/api/jobs?limit=0").error()).contains("limit must be");
    assertThat(operator.get("/api/jobs?from=yesterday").error()).contains("ISO-8601");
    assertThat(operator.post("/api/jobs/" + UUID.randomUUID() + "/cancel", "{}").status())
        .isEqualTo(404);
    assertThat(operator.post("/api/jobs/bulk/explode", "{}").error())
        .contains("unknown bulk action");
    assertThat(operator.post("/api/jobs/bulk/retry", "{\"status\":\"failed\"}").error())
        .contains("confirm");
    assertThat(operator.get("/api/jobs/bulk/count").error()).contains("exactly one status");
    assertThat(operator.post("/api/schedules/nope/pause", "{}").status()).isEqualTo(404);
    assertThat(operator.get("/api/nothing-here").status()).isEqualTo(404);
  }

  @Test
  void jobsAreFilteredAndPagedNewestFirst() throws Exception {
    List<UUID> ids = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      ids.add(finished("paging", "alpha", "failed", "connection refused #" + i));
    }
    finished("paging", "beta", "failed", "disk full");
    finished("paging", "alpha", "completed", null);

    JsonNode first =
        operator.get("/api/jobs?queue=paging&status=failed&plugin=alpha&limit=2").body();
    assertThat(first.path("jobs")).hasSize(2);
    String next = first.path("next").asText();
    JsonNode second =
        operator
            .get("/api/jobs?queue=paging&status=failed&plugin=alpha&limit=2&cursor=" + next)
            .body();
    JsonNode third =
        operator
            .get(
                "/api/jobs?queue=paging&status=failed&plugin=alpha&limit=2&cursor="
                    + second.path("next").asText())
            .body();
    List<String> seen = new ArrayList<>();
    Stream.of(first, second, third)
        .forEach(page -> page.path("jobs").forEach(j -> seen.add(j.path("id").asText())));
    assertThat(seen).containsExactlyInAnyOrderElementsOf(ids.stream().map(UUID::toString).toList());
    assertThat(third.path("next").isNull()).isTrue();
    // Newest first: created_at never increases down the pages.
    List<String> created = new ArrayList<>();
    Stream.of(first, second, third)
        .forEach(
            page -> page.path("jobs").forEach(j -> created.add(j.path("created_at").asText())));
    assertThat(created)
        .isSortedAccordingTo(
            (a, b) ->
                java.time.OffsetDateTime.parse(b).compareTo(java.time.OffsetDateTime.parse(a)));

    JsonNode text = operator.get("/api/jobs?queue=paging&q=DISK").body();
    assertThat(text.path("jobs")).hasSize(1);
    assertThat(text.path("jobs").get(0).path("plugin").asText()).isEqualTo("beta");
    JsonNode future = operator.get("/api/jobs?queue=paging&from=2999-01-01T00:00:00Z").body();
    assertThat(future.path("jobs")).isEmpty();
  }

  @Test
  void aJobsDetailRedactsSecretsAndShowsItsAttempts() throws Exception {
    UUID id = finished("detail", "p", "failed", "it broke");
    JsonNode job = operator.get("/api/jobs/" + id).body();
    assertThat(job.path("payload").path("password").asText()).isEqualTo("[redacted]");
    assertThat(job.path("payload").path("user").asText()).isEqualTo("ann");
    assertThat(job.path("status").asText()).isEqualTo("failed");
    assertThat(job.path("error").asText()).isEqualTo("it broke");
    assertThat(job.path("errors").get(0).path("kind").asText()).isEqualTo("error");
  }

  @Test
  void aFinishedJobCanBeDeletedAndALiveOneCannot() throws Exception {
    UUID done = finished("delete", "p", "completed", null);
    UUID live = client.submit(NewJob.builder("p").queue("delete").build());
    assertThat(operator.delete("/api/jobs/" + live).status()).isEqualTo(409);
    assertThat(operator.delete("/api/jobs/" + done).status()).isEqualTo(200);
    assertThat(client.get(done)).isEmpty();
    assertThat(client.get(live)).isPresent();
  }

  @Test
  void queuesShowLiveCountsAndWorkersAndSchedulesAreListed() {
    client.submitAll(
        List.of(
            NewJob.builder("p").queue("counted").build(),
            NewJob.builder("p").queue("counted").build(),
            NewJob.builder("p").queue("counted").delay(Duration.ofHours(1)).build()));
    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () -> {
              JsonNode queue = findQueue(operator.get("/api/queues").body(), "counted");
              assertThat(queue).isNotNull();
              assertThat(queue.path("ready").asLong()).isEqualTo(2);
              assertThat(queue.path("scheduled").asLong()).isEqualTo(1);
              assertThat(queue.path("throughput")).hasSize(60);
              assertThat(queue.path("paused").asBoolean()).isFalse();
              assertThat(queue.path("limits").path("global_concurrency").isNull()).isTrue();
            });
    assertThat(operator.get("/api/workers").body().path("workers").isArray()).isTrue();
    assertThat(operator.get("/api/stats/series").body().path("completed")).hasSize(60);

    client
        .schedules()
        .upsert(
            ScheduleDefinition.builder("nightly", "0 3 * * *", "report")
                .payload(Map.of("token", "s3cret"))
                .build());
    JsonNode schedules = operator.get("/api/schedules").body().path("schedules");
    assertThat(schedules).hasSize(1);
    assertThat(schedules.get(0).path("definition").path("payload").path("token").asText())
        .isEqualTo("[redacted]");
    assertThat(operator.post("/api/schedules/nightly/pause", "{}").status()).isEqualTo(200);
    assertThat(client.schedules().get("nightly").orElseThrow().paused()).isTrue();
    assertThat(operator.post("/api/schedules/nightly/resume", "{}").status()).isEqualTo(200);
    assertThat(client.schedules().get("nightly").orElseThrow().paused()).isFalse();
    JsonNode triggered = operator.post("/api/schedules/nightly/trigger", "{}").body();
    assertThat(client.get(UUID.fromString(triggered.path("job_id").asText()))).isPresent();
  }

  @Test
  void theEventStreamPushesStatistics() throws Exception {
    Http http = new Http("http://127.0.0.1:" + guarded.port());
    CompletableFuture<HttpResponse<Stream<String>>> future =
        java.net.http.HttpClient.newHttpClient()
            .sendAsync(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + guarded.port() + "/api/events"))
                    .header("Accept", "text/event-stream")
                    .header("Authorization", "Bearer " + READ_ONLY)
                    .build(),
                HttpResponse.BodyHandlers.ofLines());
    HttpResponse<Stream<String>> response = future.get(10, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type").orElse(""))
        .contains("text/event-stream");
    String firstEvent =
        response.body().filter(line -> line.startsWith("event:")).findFirst().orElseThrow();
    assertThat(firstEvent).contains("stats");
    assertThat(http.get("/api/events").status()).isEqualTo(401);
  }

  private static JsonNode findQueue(JsonNode snapshot, String name) {
    for (JsonNode queue : snapshot.path("queues")) {
      if (queue.path("name").asText().equals(name)) {
        return queue;
      }
    }
    return null;
  }
}
