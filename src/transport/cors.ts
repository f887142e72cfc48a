import { cors as connectCors } from "@connectrpc/connect";
import type { NodeRequest, NodeResponse } from "./server.js";

const ALLOW_METHODS = [...connectCors.allowedMethods, "PUT", "DELETE"].join(", ");
const ALLOW_HEADERS = [...connectCors.allowedHeaders, "Authorization", "X-Request-Id"].join(", ");
const EXPOSE_HEADERS = [...connectCors.exposedHeaders, "X-Request-Id", "Retry-After"].join(", ");

/**
 * CORS for browser clients (Connect, gRPC-Web, REST) from the allowed
 * origins only. Returns true when it answered a preflight itself.
 * Other origins get no CORS headers at all, so the browser blocks them.
 */
export function createCors(origins: readonly string[]) {
  const allowed = new Set(origins);
  return (req: NodeRequest, res: NodeResponse): boolean => {
    const origin = req.headers.origin;
    res.setHeader("Vary", "Origin");
    if (typeof origin !== "string" || !allowed.has(origin)) return false;
    res.setHeader("Access-Control-Allow-Origin", origin);
    res.setHeader("Access-Control-Expose-Headers", EXPOSE_HEADERS);
    if (req.method !== "OPTIONS" || !req.headers["access-control-request-method"]) return false;
    res.setHeader("Access-Control-Allow-Methods", ALLOW_METHODS);
    res.setHeader("Access-Control-Allow-Headers", ALLOW_HEADERS);
    res.setHeader("Access-Control-Max-Age", "7200");
    res.statusCode = 204;
    res.end();
    return true;
  };
}
