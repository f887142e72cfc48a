import type { WireError } from "./errors.js";
import type { NodeRequest, NodeResponse } from "./server.js";

/** Writes a JSON response. */
export function sendJson(res: NodeResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Cache-Control", "no-store");
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.end(payload);
}

/** The REST error body of API.md: {"error_code","detail","timestamp","request_id"}. */
export function sendError(res: NodeResponse, w: WireError, requestId: string): void {
  const headers: Record<string, string> = {};
  if (w.retryAfterMs !== undefined) headers["Retry-After"] = String(Math.max(1, Math.ceil(w.retryAfterMs / 1000)));
  sendJson(
    res,
    w.httpStatus,
    {
      error_code: w.reason,
      detail: w.message,
      timestamp: new Date().toISOString(),
      request_id: requestId,
      ...(w.violations.length > 0 ? { field_violations: w.violations } : {}),
    },
    headers,
  );
}

/** 404 for paths that are neither an RPC nor a known route, in the REST error shape. */
export function sendNotFound(req: NodeRequest, res: NodeResponse, requestId: string): void {
  sendJson(res, 404, {
    error_code: "NOT_FOUND",
    detail: `no route for ${req.method} ${pathOf(req)}`,
    timestamp: new Date().toISOString(),
    request_id: requestId,
  });
}

/** A plain route outside the RPC paths: returns true when it served the request. */
export type HttpRoute = (req: NodeRequest, res: NodeResponse, requestId: string) => boolean | Promise<boolean>;

export const pathOf = (req: NodeRequest): string => {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
};
