package io.taskbroker.worker.internal;

import com.fasterxml.jackson.databind.JsonNode;
import io.opentelemetry.api.GlobalOpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.taskbroker.common.Job;
import io.taskbroker.worker.executor.Outcome;
import java.util.List;

/**
 * The only worker class that names OpenTelemetry types; loaded only when {@link
 * JobSpans#AVAILABLE}. Spans come from {@link GlobalOpenTelemetry} (what an agent or the
 * application installed; a no-op until one is), the parent from the job's metadata through the W3C
 * propagator, matching what the client wrote.
 */
final class OpenTelemetrySpans {
  private static final TextMapGetter<JsonNode> METADATA =
      new TextMapGetter<>() {
        // Deprecated in the API but still abstract: every getter must implement it.
        @Override
        @SuppressWarnings("deprecation")
        public Iterable<String> keys(JsonNode carrier) {
          return List.of("traceparent", "tracestate");
        }

        @Override
        public String get(JsonNode carrier, String key) {
          if (carrier == null) {
            return null;
          }
          JsonNode value = carrier.get(key);
          return value != null && value.isTextual() ? value.asText() : null;
        }
      };

  private OpenTelemetrySpans() {}

  static JobSpans.Active start(Job job) {
    Context parent =
        W3CTraceContextPropagator.getInstance().extract(Context.root(), job.metadata(), METADATA);
    Span span =
        GlobalOpenTelemetry.getTracer(JobSpans.SCOPE)
            .spanBuilder("taskbroker.job " + job.plugin())
            .setParent(parent)
            .setSpanKind(SpanKind.CONSUMER)
            .setAttribute("taskbroker.job_id", job.id().toString())
            .setAttribute("taskbroker.plugin", job.plugin())
            .setAttribute("taskbroker.queue", job.queue())
            .setAttribute("taskbroker.attempt", (long) job.attempt())
            .startSpan();
    Scope scope = span.makeCurrent();
    return outcome -> {
      try {
        String kind = outcomeName(outcome);
        span.setAttribute("taskbroker.outcome", kind);
        if (outcome == null) {
          span.setStatus(StatusCode.ERROR, "the executor failed around the plugin");
        } else if (outcome instanceof Outcome.Failed failed) {
          span.setStatus(StatusCode.ERROR, failed.error() == null ? kind : failed.error());
        } else if (outcome instanceof Outcome.Retry retry) {
          span.setStatus(StatusCode.ERROR, retry.error() == null ? kind : retry.error());
        }
      } finally {
        scope.close();
        span.end();
      }
    };
  }

  private static String outcomeName(Outcome outcome) {
    if (outcome instanceof Outcome.Completed) {
      return "completed";
    } else if (outcome instanceof Outcome.Failed) {
      return "failed";
    } else if (outcome instanceof Outcome.Retry) {
      return "retry";
    } else if (outcome instanceof Outcome.Snooze) {
      return "snoozed";
    } else if (outcome instanceof Outcome.Cancelled) {
      return "cancelled";
    } else if (outcome instanceof Outcome.GivenBack) {
      return "given_back";
    }
    return "unknown";
  }
}
