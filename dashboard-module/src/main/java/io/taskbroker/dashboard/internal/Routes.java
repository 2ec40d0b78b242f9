package io.taskbroker.dashboard.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.Job;
import io.taskbroker.common.JobFilter;
import io.taskbroker.common.JobStatus;
import io.taskbroker.common.Json;
import io.taskbroker.common.Schedule;
import io.taskbroker.common.TaskBrokerException;
import io.taskbroker.dashboard.DashboardConfig;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every page and API route of the dashboard, attached to a Javalin config under the base path.
 * Reads go through {@link Queries}, the client and the {@link StatsHub}'s memory; actions are the
 * client's own calls (the same SQL functions a script or psql calls), each logged with who asked.
 * Thread-safe (handlers keep no state of their own).
 */
public final class Routes {
  private static final Logger LOG = LoggerFactory.getLogger(Routes.class);

  /** Every action, one line each: what, on what, by whom, with what outcome. */
  private static final Logger AUDIT = LoggerFactory.getLogger("io.taskbroker.dashboard.audit");

  private static final String CALLER = "taskbroker.caller";
  private static final int DEFAULT_PAGE = 50;
  private static final int MAX_PAGE = 200;
  private static final int BULK_COUNT_CAP = 10_000;
  private static final Set<String> ASSETS = Set.of("app.js", "app.css", "favicon.svg");

  private final DashboardConfig config;
  private final TaskBrokerClient client;
  private final Queries queries;
  private final StatsHub hub;
  private final Auth auth;
  private final Redactor redactor;
  private final String base;

  public Routes(DashboardConfig config, TaskBrokerClient client, Queries queries, StatsHub hub) {
    this.config = config;
    this.client = client;
    this.queries = queries;
    this.hub = hub;
    this.auth = new Auth(config);
    this.redactor = new Redactor(config.redactKeys());
    this.base = config.basePath();
  }

  public void attach(JavalinConfig javalin) {
    var routes = javalin.routes;
    routes.exception(
        ApiException.class, (e, ctx) -> error(ctx, e.status(), e.code(), e.getMessage()));
    routes.exception(
        io.javalin.http.HttpResponseException.class,
        (e, ctx) ->
            error(
                ctx,
                e.getStatus(),
                e.getStatus() == 404 ? "not_found" : "http_" + e.getStatus(),
                e.getStatus() == 404
                    ? "no such endpoint: " + ctx.method() + " " + ctx.path()
                    : e.getMessage()));
    routes.exception(
        TaskBrokerException.class, (e, ctx) -> error(ctx, 400, "bad_request", e.getMessage()));
    routes.exception(
        Exception.class,
        (e, ctx) -> {
          LOG.warn("Dashboard request {} {} failed", ctx.method(), ctx.path(), e);
          error(
              ctx,
              500,
              "internal",
              "the dashboard could not answer: " + e.getClass().getSimpleName());
        });

    routes.before(base + "/*", this::headers);
    routes.before(base + "/api/*", this::authenticate);

    if (!base.isEmpty()) {
      routes.get(base, ctx -> ctx.redirect(base + "/"));
    }
    routes.get(base + "/", ctx -> asset(ctx, "index.html"));
    routes.get(base + "/assets/{file}", ctx -> asset(ctx, ctx.pathParam("file")));

    routes.post(base + "/api/session", this::signIn);
    routes.delete(
        base + "/api/session",
        ctx -> {
          auth.signOut(ctx);
          ctx.status(204);
        });
    routes.get(base + "/api/me", this::me);
    routes.get(base + "/api/queues", ctx -> json(ctx, hub.snapshot()));
    routes.post(base + "/api/queues/{name}/pause", ctx -> queueAction(ctx, true));
    routes.post(base + "/api/queues/{name}/resume", ctx -> queueAction(ctx, false));
    routes.get(base + "/api/stats/series", ctx -> json(ctx, hub.series(ctx.queryParam("queue"))));
    routes.get(base + "/api/jobs", this::jobs);
    routes.get(base + "/api/jobs/bulk/count", this::bulkCount);
    routes.post(base + "/api/jobs/bulk/{action}", this::bulk);
    routes.get(base + "/api/jobs/{id}", this::job);
    routes.post(base + "/api/jobs/{id}/cancel", this::cancel);
    routes.post(base + "/api/jobs/{id}/retry", this::retry);
    routes.delete(base + "/api/jobs/{id}", this::delete);
    routes.get(base + "/api/workers", ctx -> json(ctx, wrap("workers", queries.workers())));
    routes.get(base + "/api/schedules", this::schedules);
    routes.post(base + "/api/schedules/{name}/pause", ctx -> scheduleAction(ctx, "pause"));
    routes.post(base + "/api/schedules/{name}/resume", ctx -> scheduleAction(ctx, "resume"));
    routes.post(base + "/api/schedules/{name}/trigger", ctx -> scheduleAction(ctx, "trigger"));
    routes.sse(
        base + "/api/events",
        sse -> {
          sse.keepAlive();
          hub.register(sse, optionalId(sse.ctx().queryParam("job")));
        });
  }

  // ---- access ----

  private void headers(Context ctx) {
    ctx.header(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self';"
            + " connect-src 'self'; frame-ancestors 'none'; form-action 'self'");
    ctx.header("X-Content-Type-Options", "nosniff");
    ctx.header("Referrer-Policy", "no-referrer");
    ctx.header("Cache-Control", "no-store");
    if (!auth.required()) {
      // Loopback without a token: a page of another site that rebinds its name to 127.0.0.1
      // would pass the same-origin checks; its Host header still names that site.
      String host = ctx.host() == null ? "" : ctx.host().replaceFirst(":\\d+$", "");
      if (!(host.equals("localhost") || host.equals("127.0.0.1") || host.equals("[::1]"))) {
        throw new ApiException(
            403, "host", "without a token the dashboard only answers to localhost");
      }
    }
  }

  private void authenticate(Context ctx) {
    if (ctx.path().equals(base + "/api/session")) {
      return;
    }
    ctx.attribute(CALLER, auth.authenticate(ctx));
  }

  private Auth.Caller caller(Context ctx) {
    Auth.Caller caller = ctx.attribute(CALLER);
    if (caller == null) {
      throw new ApiException(401, "unauthorized", "not signed in");
    }
    return caller;
  }

  /** The caller of an action: may act, and sent the CSRF token unless it used a bearer token. */
  private Auth.Caller actor(Context ctx) {
    Auth.Caller caller = caller(ctx);
    if (!caller.canAct()) {
      throw new ApiException(403, "read_only", "this token may look but not act");
    }
    auth.checkCsrf(ctx, caller);
    return caller;
  }

  private void signIn(Context ctx) {
    if (ctx.method() != HandlerType.POST) {
      throw ApiException.badRequest("sign in with POST");
    }
    JsonNode body = body(ctx);
    Auth.Caller caller;
    try {
      caller = auth.signIn(ctx, body.path("token").asText(null));
    } catch (ApiException e) {
      LOG.warn("Dashboard sign-in refused from {}", ctx.ip());
      throw e;
    }
    AUDIT.info("sign-in by {}", caller.who());
    json(ctx, me(caller));
  }

  private void me(Context ctx) {
    json(ctx, me(caller(ctx)));
  }

  private ObjectNode me(Auth.Caller caller) {
    ObjectNode me = Json.object();
    me.put("role", caller.role().name().toLowerCase(Locale.ROOT));
    me.put("can_act", caller.canAct());
    me.put("auth_required", auth.required());
    me.put("csrf", caller.csrf());
    me.put("who", caller.who());
    return me;
  }

  // ---- jobs ----

  private void jobs(Context ctx) {
    List<String> statuses = statuses(ctx.queryParam("status"));
    int limit = intParam(ctx, "limit", DEFAULT_PAGE, 1, MAX_PAGE);
    Instant beforeAt = null;
    UUID beforeId = null;
    String cursor = blank(ctx.queryParam("cursor"));
    if (cursor != null) {
      int sep = cursor.indexOf('_');
      try {
        long micros = Long.parseLong(cursor.substring(0, sep));
        beforeAt = Instant.EPOCH.plus(micros, ChronoUnit.MICROS);
        beforeId = UUID.fromString(cursor.substring(sep + 1));
      } catch (RuntimeException e) {
        throw ApiException.badRequest(
            "malformed cursor '" + cursor + "'; use the 'next' value of a page");
      }
    }
    Instant to = instantParam(ctx, "to");
    if (to != null && (beforeAt == null || to.isBefore(beforeAt))) {
      // The row comparison is where a backward index scan starts (PostgreSQL 15 does not start
      // it at a plain "created_at < to" beside it): fold the upper bound into it.
      beforeAt = to;
      beforeId = new UUID(0, 0);
    }
    Queries.JobsRequest request =
        new Queries.JobsRequest(
            statuses,
            blank(ctx.queryParam("queue")),
            blank(ctx.queryParam("plugin")),
            instantParam(ctx, "from"),
            instantParam(ctx, "to"),
            blank(ctx.queryParam("q")),
            beforeAt,
            beforeId,
            limit);
    Queries.Window window = Queries.Window.ALL;
    if (statuses.equals(List.of("running"))) {
      window = Queries.Window.RUNNING;
    } else if (!statuses.isEmpty() && Set.of("failed", "cancelled").containsAll(statuses)) {
      window = Queries.Window.FAILED_OR_CANCELLED;
    }
    Queries.JobsPage page = queries.jobs(request, window);
    ArrayNode rows = page.rows();
    ObjectNode out = Json.object();
    String next = null;
    boolean windowEnded = false;
    if (rows.size() > limit) {
      rows.remove(rows.size() - 1);
      JsonNode last = rows.get(rows.size() - 1);
      next =
          cursor(
              Instant.parse(normalize(last.path("created_at").asText())), last.path("id").asText());
    } else if (page.scanned() >= Queries.SCAN_WINDOW && page.windowEndAt() != null) {
      next = cursor(page.windowEndAt(), page.windowEndId().toString());
      windowEnded = true;
    }
    out.set("jobs", rows);
    out.put("next", next);
    out.put("scanned", page.scanned());
    out.put("window_ended", windowEnded);
    json(ctx, out);
  }

  private static String normalize(String timestamp) {
    return java.time.OffsetDateTime.parse(timestamp).toInstant().toString();
  }

  private static String cursor(Instant at, String id) {
    long micros = ChronoUnit.MICROS.between(Instant.EPOCH, at);
    return micros + "_" + id;
  }

  private void job(Context ctx) {
    Job job = requireJob(ctx);
    ObjectNode out = (ObjectNode) Json.toTree(job);
    out.set("payload", redactor.redact(job.payload()));
    out.set("metadata", redactor.redact(job.metadata()));
    out.put("status", job.status().dbValue());
    queries.worker(job.workerId()).ifPresent(w -> out.set("worker", w));
    json(ctx, out);
  }

  private Job requireJob(Context ctx) {
    UUID id = jobId(ctx);
    return client.get(id).orElseThrow(() -> ApiException.notFound("no job " + id));
  }

  private static UUID jobId(Context ctx) {
    String text = ctx.pathParam("id");
    try {
      return UUID.fromString(text);
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest("malformed job id '" + text + "'; expected a UUID");
    }
  }

  private void cancel(Context ctx) {
    Auth.Caller caller = actor(ctx);
    Job job = requireJob(ctx);
    JobStatus after = client.cancel(job.id());
    AUDIT.info("cancel job {} by {}: {}", job.id(), caller.who(), after.dbValue());
    hub.refresh();
    json(ctx, outcome("cancel", job.id(), after.dbValue()));
  }

  private void retry(Context ctx) {
    Auth.Caller caller = actor(ctx);
    Job job = requireJob(ctx);
    if (job.status() != JobStatus.FAILED && job.status() != JobStatus.CANCELLED) {
      throw new ApiException(
          409,
          "conflict",
          "only a failed or cancelled job can be retried; this one is " + job.status().dbValue());
    }
    JobStatus after = client.retry(job.id());
    AUDIT.info("retry job {} by {}: {}", job.id(), caller.who(), after.dbValue());
    hub.refresh();
    json(ctx, outcome("retry", job.id(), after.dbValue()));
  }

  private void delete(Context ctx) {
    Auth.Caller caller = actor(ctx);
    Job job = requireJob(ctx);
    String was =
        queries
            .deleteJob(job.id())
            .orElseThrow(
                () ->
                    new ApiException(
                        409,
                        "conflict",
                        "only a finished job can be deleted; cancel it first (it is "
                            + job.status().dbValue()
                            + ")"));
    AUDIT.info("delete job {} by {}: was {}", job.id(), caller.who(), was);
    json(ctx, outcome("delete", job.id(), "deleted"));
  }

  private static ObjectNode outcome(String action, UUID id, String status) {
    ObjectNode out = Json.object();
    out.put("action", action);
    out.put("id", id.toString());
    out.put("status", status);
    return out;
  }

  // ---- bulk ----

  /** The bulk actions, and the statuses each takes (as the SQL functions check them). */
  private static final java.util.Map<String, Set<String>> BULK_STATUSES =
      java.util.Map.of(
          "retry", Set.of("failed", "cancelled"),
          "cancel", Set.of("pending", "running"),
          "delete", Set.of("pending", "completed", "failed", "cancelled"));

  private record BulkFilter(String queue, String plugin, String status) {
    JobFilter toJobFilter() {
      return JobFilter.builder()
          .queue(queue)
          .plugin(plugin)
          .status(JobStatus.parse(status))
          .build();
    }
  }

  private BulkFilter bulkFilter(String queue, String plugin, String status) {
    List<String> statuses = statuses(status);
    if (statuses.size() != 1) {
      throw ApiException.badRequest("a bulk action needs exactly one status, got '" + status + "'");
    }
    return new BulkFilter(blank(queue), blank(plugin), statuses.get(0));
  }

  private void bulkCount(Context ctx) {
    BulkFilter filter =
        bulkFilter(ctx.queryParam("queue"), ctx.queryParam("plugin"), ctx.queryParam("status"));
    long n =
        queries.bulkCount(
            List.of(filter.status()), filter.queue(), filter.plugin(), BULK_COUNT_CAP + 1);
    ObjectNode out = Json.object();
    out.put("count", Math.min(n, BULK_COUNT_CAP));
    out.put("more", n > BULK_COUNT_CAP);
    json(ctx, out);
  }

  private void bulk(Context ctx) {
    Auth.Caller caller = actor(ctx);
    String action = ctx.pathParam("action");
    Set<String> takes = BULK_STATUSES.get(action);
    if (takes == null) {
      throw ApiException.badRequest(
          "unknown bulk action '" + action + "'; one of retry, cancel, delete");
    }
    JsonNode body = body(ctx);
    BulkFilter filter =
        bulkFilter(
            body.path("queue").asText(null),
            body.path("plugin").asText(null),
            body.path("status").asText(null));
    if (!takes.contains(filter.status())) {
      throw ApiException.badRequest(
          "bulk "
              + action
              + " takes "
              + String.join(", ", new java.util.TreeSet<>(takes))
              + " jobs, not "
              + filter.status());
    }
    if (!body.path("confirm").asBoolean(false)) {
      throw ApiException.badRequest("a bulk action needs \"confirm\": true");
    }
    JobFilter jobs = filter.toJobFilter();
    long n =
        switch (action) {
          case "retry" -> client.retryAll(jobs);
          case "cancel" -> client.cancelAll(jobs);
          default -> client.deleteAll(jobs);
        };
    AUDIT.info(
        "bulk {} by {} on status={} queue={} plugin={}: {} jobs",
        action,
        caller.who(),
        filter.status(),
        filter.queue(),
        filter.plugin(),
        n);
    hub.refresh();
    ObjectNode out = Json.object();
    out.put("action", action);
    out.put("count", n);
    json(ctx, out);
  }

  // ---- queues and schedules ----

  private void queueAction(Context ctx, boolean pause) {
    Auth.Caller caller = actor(ctx);
    String name = ctx.pathParam("name");
    boolean changed = pause ? client.queues().pause(name) : client.queues().resume(name);
    AUDIT.info(
        "{} queue {} by {}{}",
        pause ? "pause" : "resume",
        name,
        caller.who(),
        changed ? "" : " (it already was)");
    hub.refresh();
    ObjectNode out = Json.object();
    out.put("queue", name);
    out.put("paused", pause);
    out.put("changed", changed);
    json(ctx, out);
  }

  private void schedules(Context ctx) {
    ArrayNode list = Json.mapper().createArrayNode();
    for (Schedule schedule : client.schedules().list()) {
      ObjectNode node = (ObjectNode) Json.toTree(schedule);
      ObjectNode definition = (ObjectNode) node.get("definition");
      if (definition != null) {
        definition.set("payload", redactor.redact(definition.get("payload")));
        definition.set("metadata", redactor.redact(definition.get("metadata")));
      }
      list.add(node);
    }
    json(ctx, wrap("schedules", list));
  }

  private void scheduleAction(Context ctx, String action) {
    Auth.Caller caller = actor(ctx);
    String name = ctx.pathParam("name");
    var schedules = client.schedules();
    ObjectNode out = Json.object();
    out.put("schedule", name);
    out.put("action", action);
    switch (action) {
      case "pause" -> exists(schedules.pause(name), name);
      case "resume" -> exists(schedules.resume(name), name);
      case "trigger" -> {
        UUID id =
            schedules.trigger(name).orElseThrow(() -> ApiException.notFound("no schedule " + name));
        out.put("job_id", id.toString());
      }
      default -> throw ApiException.badRequest("unknown schedule action " + action);
    }
    AUDIT.info("{} schedule {} by {}", action, name, caller.who());
    json(ctx, out);
  }

  private static void exists(boolean found, String name) {
    if (!found) {
      throw ApiException.notFound("no schedule " + name);
    }
  }

  // ---- helpers ----

  static List<String> statuses(String param) {
    List<String> out = new ArrayList<>();
    if (param == null || param.isBlank()) {
      return out;
    }
    for (String part : param.split(",")) {
      String value = part.trim().toLowerCase(Locale.ROOT);
      boolean known = false;
      for (JobStatus status : JobStatus.values()) {
        known |= status.dbValue().equals(value);
      }
      if (!known) {
        throw ApiException.badRequest(
            "unknown status '"
                + part.trim()
                + "'; one of pending, running, completed, failed, cancelled");
      }
      if (!out.contains(value)) {
        out.add(value);
      }
    }
    return out;
  }

  private static int intParam(Context ctx, String name, int fallback, int min, int max) {
    String text = blank(ctx.queryParam(name));
    if (text == null) {
      return fallback;
    }
    try {
      int value = Integer.parseInt(text);
      if (value < min || value > max) {
        throw new NumberFormatException();
      }
      return value;
    } catch (NumberFormatException e) {
      throw ApiException.badRequest(
          name + " must be a whole number from " + min + " to " + max + ", got '" + text + "'");
    }
  }

  private static Instant instantParam(Context ctx, String name) {
    String text = blank(ctx.queryParam(name));
    if (text == null) {
      return null;
    }
    try {
      return Instant.parse(text);
    } catch (DateTimeParseException e) {
      try {
        return java.time.OffsetDateTime.parse(text).toInstant();
      } catch (DateTimeParseException again) {
        throw ApiException.badRequest(
            name + " must be an ISO-8601 instant like 2025-01-31T12:00:00Z, got '" + text + "'");
      }
    }
  }

  private static UUID optionalId(String text) {
    if (text == null || text.isBlank()) {
      return null;
    }
    try {
      return UUID.fromString(text);
    } catch (IllegalArgumentException e) {
      throw ApiException.badRequest("malformed job id '" + text + "'; expected a UUID");
    }
  }

  private static String blank(String value) {
    return value == null || value.isBlank() ? null : value.trim();
  }

  private static JsonNode body(Context ctx) {
    String text = ctx.body();
    if (text == null || text.isBlank()) {
      return Json.object();
    }
    try {
      return Json.parse(text);
    } catch (RuntimeException e) {
      throw ApiException.badRequest("the body must be a JSON object");
    }
  }

  private static ObjectNode wrap(String name, JsonNode value) {
    ObjectNode out = Json.object();
    out.set(name, value);
    return out;
  }

  private static void json(Context ctx, JsonNode value) {
    ctx.contentType("application/json").result(Json.write(value));
  }

  private static void error(Context ctx, int status, String code, String message) {
    ObjectNode out = Json.object();
    out.put("error", message);
    out.put("code", code);
    ctx.status(status);
    json(ctx, out);
  }

  private void asset(Context ctx, String name) throws IOException {
    if (!name.equals("index.html") && !ASSETS.contains(name)) {
      throw ApiException.notFound("no such page");
    }
    try (InputStream in =
        Routes.class.getResourceAsStream("/io/taskbroker/dashboard/assets/" + name)) {
      if (in == null) {
        throw ApiException.notFound("no such page");
      }
      String type =
          name.endsWith(".js")
              ? "text/javascript"
              : name.endsWith(".css")
                  ? "text/css"
                  : name.endsWith(".svg") ? "image/svg+xml" : "text/html";
      ctx.contentType(type + "; charset=utf-8")
          .result(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
  }
}
