import { type DescService, fromJson, toJson } from "@bufbuild/protobuf";
import { HttpError, sendWireError, toWireError } from "../errors.js";
import { type HttpRoute, pathOf, sendJson } from "../http/http-util.js";
import { type HttpRule, httpRulesOf } from "./http-rules.js";
import type { InProcessCall } from "./in-process.js";
import { badRequest, readJsonBody } from "./json-body.js";

export interface RestRouteOptions {
  /** The service whose `google.api.http` annotations declare the routes. */
  readonly service: DescService;
  /** Reaches the same handlers and interceptors as the RPC paths (createInProcessCaller). */
  readonly call: InProcessCall;
  readonly maxBodyBytes: number;
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

  return async (req, res, call) => {
    const { requestId } = call;
    const rules = byPath.get(pathOf(req));
    if (rules === undefined) return false;
    const rule = rules.find((r) => r.verb === req.method);
    if (rule === undefined) {
      res.setHeader("Allow", rules.map((r) => r.verb).join(", "));
      sendWireError(res, badRequest(`method ${req.method ?? ""} not allowed`, 405).wire, requestId);
      return true;
    }
    let input: ReturnType<typeof fromJson>;
    try {
      const json = rule.bodyIsMessage ? await readJsonBody(req, opts.maxBodyBytes) : {};
      input = fromJson(rule.method.input, json, { ignoreUnknownFields: false });
    } catch (e) {
      const refusal = e instanceof HttpError ? e : badRequest(`request body is not a valid ${rule.method.input.name}`);
      sendWireError(res, refusal.wire, requestId);
      return true;
    }
    const header = new Headers();
    for (const name of FORWARDED_HEADERS) {
      const value = req.headers[name];
      if (typeof value === "string") header.set(name, value);
    }
    try {
      const out = await opts.call(rule.method, header, input, call);
      sendJson(res, 200, toJson(rule.method.output, out.message, { useProtoFieldName: true }));
    } catch (e) {
      sendWireError(res, toWireError(e), requestId);
    }
    return true;
  };
}
