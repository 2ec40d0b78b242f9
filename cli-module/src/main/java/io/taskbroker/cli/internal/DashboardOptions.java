package io.taskbroker.cli.internal;

import io.taskbroker.api.TaskBrokerClient;
import io.taskbroker.common.InvalidConfigException;
import io.taskbroker.dashboard.Dashboard;
import io.taskbroker.dashboard.DashboardConfig;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import picocli.CommandLine.Option;

/** The dashboard's flags, shared by {@code dashboard} and {@code worker --dashboard-port}. */
public final class DashboardOptions {
  @Option(
      names = "--dashboard-host",
      defaultValue = "127.0.0.1",
      description =
          "Address the dashboard binds (default 127.0.0.1). Without a token only a loopback"
              + " address is accepted.")
  String host;

  @Option(
      names = "--token",
      description =
          "Operator token: the pages ask for it, the API wants 'Authorization: Bearer <token>'"
              + " (default: $"
              + DashboardConfig.ENV_TOKEN
              + "; none: loopback only, no sign-in).")
  String token;

  @Option(
      names = "--read-only-token",
      description =
          "A token that sees everything and may do nothing (default: $"
              + DashboardConfig.ENV_READ_ONLY_TOKEN
              + ").")
  String readOnlyToken;

  @Option(
      names = "--redact",
      split = ",",
      description =
          "Payload and metadata keys shown as [redacted], at any depth (default:"
              + " password,secret,token,api_key,apikey,authorization).")
  String[] redact;

  /**
   * Starts a dashboard on the client's database at this port.
   *
   * @throws CliFailure with {@link ExitCodes#USAGE} for a bad setting
   */
  public Dashboard start(TaskBrokerClient client, int port, Map<String, String> env) {
    Set<String> keys =
        redact == null
            ? DashboardConfig.DEFAULT_REDACT_KEYS
            : new LinkedHashSet<>(Arrays.asList(redact));
    Dashboard dashboard;
    try {
      dashboard =
          Dashboard.builder()
              .client(client)
              .host(host)
              .token(token != null ? token : env.get(DashboardConfig.ENV_TOKEN))
              .readOnlyToken(
                  readOnlyToken != null
                      ? readOnlyToken
                      : env.get(DashboardConfig.ENV_READ_ONLY_TOKEN))
              .redactKeys(keys)
              .build();
    } catch (InvalidConfigException e) {
      throw new CliFailure(ExitCodes.USAGE, e.getMessage());
    }
    try {
      return dashboard.start(port);
    } catch (RuntimeException e) {
      dashboard.close();
      throw new CliFailure(
          ExitCodes.ERROR,
          "the dashboard could not listen on " + host + ":" + port + ": " + e.getMessage());
    }
  }
}
