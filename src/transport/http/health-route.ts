import type { HealthMonitor } from "../../health/health-monitor.js";
import { type HttpRoute, pathOf, sendJson } from "./http-util.js";

/** GET /health for load balancers that speak only HTTP: the same status as grpc.health.v1. */
export function createHealthRoute(monitor: HealthMonitor): HttpRoute {
  return (req, res) => {
    if (req.method !== "GET" || pathOf(req) !== "/health") return false;
    sendJson(res, monitor.serving ? 200 : 503, { status: monitor.serving ? "healthy" : "unhealthy" });
    return true;
  };
}
