import { createApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { registerInServiceEcho } from "./in-service-echo.js";

/**
 * The benchmark's entry to the service: src/main.ts's start-up (config from
 * the environment, createApp, listen, SIGTERM drains), plus the in-service
 * echo. Built by tsc and run with `npm start`'s node options, as main.js is.
 */
const app = await createApp(loadConfig(process.env), { extraRoutes: registerInServiceEcho });
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
await app.listen();
