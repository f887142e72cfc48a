/** `npm run migrate`: applies pending migrations to the configured database and exits. */
import { ConfigError, loadConfig } from "./config.js";
import { createOrm, migrate } from "./db/orm.js";

try {
  const config = loadConfig(process.env);
  const orm = await createOrm(config.database);
  await migrate(orm);
  await orm.close(true);
  process.stdout.write(
    `${JSON.stringify({ level: "info", message: "migrations applied", database: config.database.kind })}\n`,
  );
} catch (e) {
  process.stderr.write(
    `${JSON.stringify({ level: "error", message: e instanceof ConfigError ? e.message : "migration failed", error_name: e instanceof Error ? e.name : typeof e })}\n`,
  );
  process.exit(1);
}
