import { type DescService, fromJson, toJson } from "@bufbuild/protobuf";
import type { Transport } from "@connectrpc/connect";
import { type HttpRoute, pathOf, sendError, sendJson } from "../transport/http-util.js";
import { type HttpRule, httpRulesOf } from "./http-rules.js";
import { BodyError, badRequest, readJsonBody } from "./json-body.js";
import { wireErrorOf } from "./wire-errors.js";

export interface RestRouteOptions {
  /** The service whose `google.api.http` annotations declare the routes. */
  readonly service: DescService;
  /**
   * Reaches the same handlers and interceptors as the RPC paths, e.g.
   * `createRouterTransport(routes, { router: { interceptors } })`.
   */
  readonly transport: Transport;
  readonly maxBodyBytes: number;
  /** A body must have arrived within this long of the read starting (HTTP_REQUEST_TIMEOUT_MS); 408 otherwise. */
  readonly bodyTimeoutMs?: number;
}

/** Request headers a REST client may pass through to the RPC. */
const FORWARDED_HEADERS = ["authorization"] as const;

/**
 * Serves the REST routes of a service (the original HTTP API) by
 * transcoding JSON to the RPC and back: proto field names or lowerCamelCase
 * in, proto field names out, errors as the REST error body with the HTTP
 * status of the error table. Malformed input is always a 4xx.
 */
export function createRestRoute(opts: RestRouteOptions): HttpRoute {
  const byPath = new Map<string, HttpRule[]>();
  for (const rule of httpRulesOf(opts.service)) byPath.set(rule.path, [...(byPath.get(rule.path) ?? []), rule]);

  return async (req, res, requestId) => {
    const rules = byPath.get(pathOf(req));
    if (rules === undefined) return false;
    const rule = rules.find((r) => r.verb === req.method);
    if (rule === undefined) {
      res.setHeader("Allow", rules.map((r) => r.verb).join(", "));
      sendError(res, badRequest(`method ${req.method ?? ""} not allowed`, 405), requestId);
      return true;
    }
    let input: ReturnType<typeof fromJson>;
    try {
      const json = rule.bodyIsMessage ? await readJsonBody(req, opts.maxBodyBytes, opts.bodyTimeoutMs) : {};
      input = fromJson(rule.method.input, json, { ignoreUnknownFields: false });
    } catch (e) {
      sendError(
        res,
        e instanceof BodyError ? e.wire : badRequest(`request body is not a valid ${rule.method.input.name}`),
        requestId,
      );
      return true;
    }
    const header = new Headers();
    for (const name of FORWARDED_HEADERS) {
      const value = req.headers[name];
      if (typeof value === "string") header.set(name, value);
    }
    try {
      const out = await opts.transport.unary(rule.method, undefined, undefined, header, input);
      sendJson(res, 200, toJson(rule.method.output, out.message, { useProtoFieldName: true }));
    } catch (e) {
      sendError(res, wireErrorOf(e), requestId);
    }
    return true;
  };
}
