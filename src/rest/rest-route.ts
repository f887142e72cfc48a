import { type DescService, fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { type ConnectRouter, createRouterTransport, type Interceptor, type Transport } from "@connectrpc/connect";
import { sendError, sendJson, type HttpRoute, pathOf } from "../transport/http-util.js";
import { wireError, type WireError } from "../transport/errors.js";
import { CALL_CONTEXT, currentCall } from "../transport/call-context.js";
import type { NodeRequest } from "../transport/server.js";
import { type HttpRule, httpRulesOf } from "./http-rules.js";
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
}

/**
 * The in-process transport to the RPC handlers, behind the same interceptors
 * as the RPC paths. The in-memory hop drops Connect's context values, so the
 * first interceptor restores the call context (request id, client address)
 * from the AsyncLocalStorage the HTTP request runs in.
 */
export function createInProcessTransport(routes: (router: ConnectRouter) => void, interceptors: readonly Interceptor[]): Transport {
  const restoreCallContext: Interceptor = (next) => (req) => {
    const call = currentCall();
    if (call !== undefined && req.contextValues.get(CALL_CONTEXT) === undefined) req.contextValues.set(CALL_CONTEXT, call);
    return next(req);
  };
  return createRouterTransport(routes, { router: { interceptors: [restoreCallContext, ...interceptors] } });
}

/** Request headers a REST client may pass through to the RPC. */
const FORWARDED_HEADERS = ["authorization"] as const;

const badRequest = (message: string, httpStatus = 400): WireError => ({
  ...wireError("VALIDATION_ERROR", message),
  httpStatus,
});

class BodyError extends Error {
  constructor(readonly wire: WireError) {
    super(wire.message);
  }
}

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
    let input;
    try {
      const json = rule.bodyIsMessage ? await readJsonBody(req, opts.maxBodyBytes) : {};
      input = fromJson(rule.method.input, json, { ignoreUnknownFields: false });
    } catch (e) {
      sendError(res, e instanceof BodyError ? e.wire : badRequest(`request body is not a valid ${rule.method.input.name}`), requestId);
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

/** Reads a JSON body; an empty body is an empty message. */
async function readJsonBody(req: NodeRequest, maxBytes: number): Promise<JsonValue> {
  const chunks: Buffer[] = [];
  let size = 0;
  // An oversized body is drained, not stored: breaking off the read would
  // tear down the socket before the 413 can be sent.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size <= maxBytes) chunks.push(chunk);
  }
  if (size > maxBytes) throw new BodyError(badRequest(`request body is larger than ${maxBytes} bytes`, 413));
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return {};
  const type = req.headers["content-type"] ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new BodyError(badRequest("content-type must be application/json", 415));
  }
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new BodyError(badRequest("request body is not valid JSON"));
  }
}
