package io.taskbroker.cli;

import io.taskbroker.cli.internal.CliContext;
import io.taskbroker.cli.internal.CliQueries;
import io.taskbroker.cli.internal.DatabaseOptions;
import io.taskbroker.cli.internal.ExitCodes;
import io.taskbroker.cli.internal.VerboseOption;
import io.taskbroker.common.Database;
import io.taskbroker.common.Migrations;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code taskbroker migrate}: applies the schema and prints its version. */
@Command(
    name = "migrate",
    mixinStandardHelpOptions = true,
    description = {
      "Create or update the taskbroker schema, then print its version.",
      "Safe to run from many processes at once; 'worker' and 'dev' migrate on start too."
    })
final class MigrateCommand implements Callable<Integer> {
  // Flyway takes connections of its own while Migrations holds the lock on another.
  private static final int POOL_SIZE = 4;

  private final CliContext context;

  @Mixin DatabaseOptions database;
  @Mixin VerboseOption verbose;

  MigrateCommand(CliContext context) {
    this.context = context;
  }

  @Override
  public Integer call() {
    try (Database db =
        Database.connect(database.config(context.env(), "taskbroker-migrate", POOL_SIZE))) {
      int applied = Migrations.migrate(db.dataSource());
      String version = new CliQueries(db.jdbi()).schemaVersion().orElse("none");
      context
          .out()
          .println(
              "schema "
                  + Migrations.SCHEMA
                  + " is at version "
                  + version
                  + (applied == 0
                      ? " (already up to date)"
                      : " (applied " + applied + " migration" + (applied == 1 ? "" : "s") + ")"));
    }
    return ExitCodes.OK;
  }
}
