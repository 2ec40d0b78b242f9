package io.taskbroker.dashboard.internal;

import io.javalin.http.Context;
import io.javalin.http.Cookie;
import io.javalin.http.SameSite;
import io.taskbroker.dashboard.DashboardConfig;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Who is asking, and may they act. Three ways in: a bearer token (scripts; no CSRF check, since a
 * browser never adds the header by itself), a session cookie from the sign-in page (needs the
 * session's CSRF token in {@code X-CSRF-Token} on every action), or, when no token is configured,
 * anyone reaching the loopback address (still with a CSRF token: another site's page in the
 * operator's browser can send a POST to localhost, but cannot read {@code /api/me} to learn it).
 * Sessions live in memory: a restarted dashboard asks to sign in again. Thread-safe.
 */
public final class Auth {
  public static final String SESSION_COOKIE = "taskbroker_session";
  public static final String CSRF_HEADER = "X-CSRF-Token";
  private static final Duration SESSION_LIFETIME = Duration.ofHours(12);
  private static final int MAX_SESSIONS = 10_000;

  /** What a caller may do. */
  public enum Role {
    OPERATOR,
    READ_ONLY
  }

  /** A caller once known: its role, a name for the log, and the CSRF token it must echo. */
  public record Caller(Role role, String who, String csrf, boolean viaBearer) {
    public boolean canAct() {
      return role == Role.OPERATOR;
    }
  }

  private record Session(Role role, String csrf, Instant expires) {}

  private final DashboardConfig config;
  private final SecureRandom random = new SecureRandom();
  private final Map<String, Session> sessions = new ConcurrentHashMap<>();
  // Without a token, one CSRF token for the process (there is no session to hang it on).
  private final String openCsrf;

  public Auth(DashboardConfig config) {
    this.config = config;
    this.openCsrf = randomToken();
  }

  public boolean required() {
    return config.authRequired();
  }

  /** The caller of this request; throws 401 when a token is required and none fits. */
  public Caller authenticate(Context ctx) {
    if (!config.authRequired()) {
      return new Caller(Role.OPERATOR, "local@" + ctx.ip(), openCsrf, false);
    }
    String header = ctx.header("Authorization");
    if (header != null) {
      if (!header.startsWith("Bearer ")) {
        throw unauthorized("Authorization must be 'Bearer <token>'");
      }
      Role role = roleOf(header.substring("Bearer ".length()).trim());
      if (role == null) {
        throw unauthorized("the bearer token is not valid for this dashboard");
      }
      return new Caller(role, name(role) + "-token@" + ctx.ip(), null, true);
    }
    String sessionId = ctx.cookie(SESSION_COOKIE);
    if (sessionId != null) {
      Session session = sessions.get(sessionId);
      if (session != null && session.expires().isAfter(Instant.now())) {
        return new Caller(
            session.role(), name(session.role()) + "-session@" + ctx.ip(), session.csrf(), false);
      }
      sessions.remove(sessionId);
    }
    throw unauthorized("sign in with the dashboard token, or send 'Authorization: Bearer <token>'");
  }

  /** Checks the CSRF token of a state-changing request made with a cookie or on loopback. */
  public void checkCsrf(Context ctx, Caller caller) {
    if (caller.viaBearer()) {
      return;
    }
    String sent = ctx.header(CSRF_HEADER);
    if (sent == null || !constantTimeEquals(sent, caller.csrf())) {
      throw new ApiException(403, "csrf", "missing or wrong " + CSRF_HEADER + " header");
    }
  }

  /** Signs in with a token: sets the session cookie; 401 for a token that fits neither role. */
  public Caller signIn(Context ctx, String token) {
    Role role = token == null ? null : roleOf(token);
    if (role == null) {
      throw unauthorized("wrong token");
    }
    sweep();
    String id = randomToken();
    Session session = new Session(role, randomToken(), Instant.now().plus(SESSION_LIFETIME));
    sessions.put(id, session);
    Cookie cookie =
        new Cookie(
            SESSION_COOKIE,
            id,
            cookiePath(),
            (int) SESSION_LIFETIME.toSeconds(),
            "https".equalsIgnoreCase(ctx.scheme()),
            true,
            null,
            SameSite.STRICT);
    ctx.cookie(cookie);
    return new Caller(role, name(role) + "-session@" + ctx.ip(), session.csrf(), false);
  }

  public void signOut(Context ctx) {
    String id = ctx.cookie(SESSION_COOKIE);
    if (id != null) {
      sessions.remove(id);
    }
    ctx.removeCookie(SESSION_COOKIE, cookiePath());
  }

  private String cookiePath() {
    return config.basePath().isEmpty() ? "/" : config.basePath();
  }

  private Role roleOf(String token) {
    if (constantTimeEquals(token, config.token())) {
      return Role.OPERATOR;
    }
    if (config.readOnlyToken() != null && constantTimeEquals(token, config.readOnlyToken())) {
      return Role.READ_ONLY;
    }
    return null;
  }

  private void sweep() {
    Instant now = Instant.now();
    sessions.values().removeIf(s -> s.expires().isBefore(now));
    if (sessions.size() >= MAX_SESSIONS) {
      // Bounded memory against a sign-in loop: the oldest sessions go first is not worth the
      // bookkeeping; dropping all makes every operator sign in again, which is safe.
      sessions.clear();
    }
  }

  private static String name(Role role) {
    return role == Role.OPERATOR ? "operator" : "read-only";
  }

  private String randomToken() {
    byte[] bytes = new byte[24];
    random.nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  private static boolean constantTimeEquals(String a, String b) {
    if (a == null || b == null) {
      return false;
    }
    return MessageDigest.isEqual(
        a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));
  }

  private static ApiException unauthorized(String message) {
    return new ApiException(401, "unauthorized", message);
  }
}
