import type { CallContext } from "../call-context.js";
import type { NodeRequest, NodeResponse } from "../server.js";

/** Writes a JSON response. */
export function sendJson(res: NodeResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  res.setHeader("Cache-Control", "no-store");
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.end(payload);
}

/** A plain route outside the RPC paths: returns true when it served the request. */
export type HttpRoute = (req: NodeRequest, res: NodeResponse, call: CallContext) => boolean | Promise<boolean>;

export const pathOf = (req: NodeRequest): string => {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
};
