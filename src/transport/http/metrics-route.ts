import type { Registry } from "prom-client";
import { type HttpRoute, pathOf } from "./http-util.js";

/** GET /metrics: the registry in the Prometheus text format. */
export function createMetricsRoute(registry: Registry): HttpRoute {
  return async (req, res) => {
    if (req.method !== "GET" || pathOf(req) !== "/metrics") return false;
    const body = await registry.metrics();
    res.statusCode = 200;
    res.setHeader("Content-Type", registry.contentType);
    res.setHeader("Cache-Control", "no-store");
    res.end(body);
    return true;
  };
}
