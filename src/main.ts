import { type App, createApp } from "./app.js";
import { type Config, ConfigError, loadConfig } from "./config.js";
import { describeError } from "./logger.js";
import { KeyError } from "./tokens/keys.js";

/**
 * Entry point: config → app → listen, plus process-level behaviour:
 * SIGTERM/SIGINT drain and exit 0; an unhandled error is logged as one JSON
 * line and exits non-zero.
 */
const fatal = (message: string, extra: Record<string, unknown> = {}) => {
  process.stderr.write(
    `${JSON.stringify({ level: "error", message, ...extra, timestamp: new Date().toISOString() })}\n`,
  );
};

let config: Config;
try {
  config = loadConfig(process.env);
} catch (e) {
  fatal(e instanceof ConfigError ? e.message : "invalid configuration");
  process.exit(1);
}

let app: App;
try {
  app = await createApp(config);
} catch (e) {
  fatal(e instanceof KeyError || e instanceof ConfigError ? e.message : "start-up failed", {
    error_name: e instanceof Error ? e.name : typeof e,
    error_code: (e as NodeJS.ErrnoException | undefined)?.code,
  });
  process.exit(1);
}
const running = app;

const crash = (kind: string) => (e: unknown) => {
  running.logger.error(kind, describeError(e));
  // Give winston a moment to flush the line, then leave: the state is unknown.
  setTimeout(() => process.exit(1), 100).unref();
};
process.on("uncaughtException", crash("uncaught exception"));
process.on("unhandledRejection", crash("unhandled rejection"));

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  running.logger.info("shutting down", { signal });
  running.close().then(
    () => process.exit(0),
    (e: unknown) => {
      running.logger.error("shutdown failed", describeError(e));
      process.exit(1);
    },
  );
};
process.on("SIGTERM", () => stop("SIGTERM"));
process.on("SIGINT", () => stop("SIGINT"));

try {
  await running.listen();
} catch (e) {
  fatal("cannot listen", { error_code: (e as NodeJS.ErrnoException).code, port: config.port });
  await running.close();
  process.exit(1);
}
