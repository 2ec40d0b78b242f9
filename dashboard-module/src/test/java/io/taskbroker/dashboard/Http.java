package io.taskbroker.dashboard;

import com.fasterxml.jackson.databind.JsonNode;
import io.taskbroker.common.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A small HTTP client for the API tests: JSON in, status and JSON out. Not thread-safe. */
final class Http {
  record Answer(int status, JsonNode body) {
    String error() {
      return body.path("error").asText();
    }
  }

  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final String base;
  private String bearer;
  private String cookie;
  private String csrf;

  Http(String base) {
    this.base = base;
  }

  Http bearer(String token) {
    this.bearer = token;
    return this;
  }

  Http session(String cookie, String csrf) {
    this.cookie = cookie;
    this.csrf = csrf;
    return this;
  }

  Answer get(String path) {
    return send("GET", path, null);
  }

  Answer post(String path, String json) {
    return send("POST", path, json);
  }

  Answer delete(String path) {
    return send("DELETE", path, null);
  }

  HttpResponse<String> raw(HttpRequest.Builder request) {
    try {
      return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException | InterruptedException e) {
      throw new IllegalStateException(e);
    }
  }

  Answer send(String method, String path, String json) {
    HttpRequest.Builder request =
        HttpRequest.newBuilder(URI.create(base + path))
            .timeout(Duration.ofSeconds(10))
            .method(
                method,
                json == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(json));
    if (json != null) {
      request.header("Content-Type", "application/json");
    }
    if (bearer != null) {
      request.header("Authorization", "Bearer " + bearer);
    }
    if (cookie != null) {
      request.header("Cookie", cookie);
    }
    if (csrf != null) {
      request.header("X-CSRF-Token", csrf);
    }
    HttpResponse<String> response = raw(request);
    String body = response.body();
    return new Answer(
        response.statusCode(), body == null || body.isBlank() ? Json.object() : Json.parse(body));
  }
}
