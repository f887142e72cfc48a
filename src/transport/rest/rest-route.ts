import { type DescService, fromJson, toJson } from "@bufbuild/protobuf";
import { createWireError, HttpError, sendWireError, toWireError } from "../errors.js";
import { type HttpRoute, pathOf, sendJson } from "../http/http-util.js";
import { httpRulesOf } from "./http-rules.js";
import type { InProcessCall } from "./in-process.js";
import { badRequest, readJsonBody } from "./json-body.js";
import { applyQueryParameters } from "./query-params.js";
import { applyPathVariables, RequestFieldError } from "./request-fields.js";
import { createRouteTable } from "./route-table.js";

export interface RestRouteOptions {
  /** The services whose `google.api.http` annotations declare the routes. */
  readonly services: readonly DescService[];
  /** Reaches the same handlers and interceptors as the RPC paths (createInProcessCaller). */
  readonly call: InProcessCall;
  readonly maxBodyBytes: number;
  /** A body must have arrived within this long of the read starting (HTTP_REQUEST_TIMEOUT_MS); 408 otherwise. */
  readonly bodyTimeoutMs?: number;
}

/** Request headers a REST client may pass through to the RPC. */
const FORWARDED_HEADERS = ["authorization"] as const;

/**
 * Serves the REST routes of services (the original HTTP API) by
 * transcoding JSON to the RPC and back: path variables and query parameters
 * by the google.api.http rules, proto field names or lowerCamelCase in,
 * proto field names out, errors as the REST error body with the HTTP status
 * of the error table. Malformed input is always a 4xx.
 */
export function createRestRoute(opts: RestRouteOptions): HttpRoute {
  const lookup = createRouteTable(httpRulesOf(...opts.services));

  return async (req, res, call) => {
    const { requestId } = call;
    const found = lookup(req.method ?? "", pathOf(req));
    if (found === undefined) return false;
    if (found.kind === "method-not-allowed") {
      res.setHeader("Allow", found.allowed.join(", "));
      sendWireError(res, badRequest(`method ${req.method ?? ""} not allowed`, 405).wire, requestId);
      return true;
    }
    const { rule } = found;
    call.trace?.rpc(rule.method.parent.typeName, rule.method.name, "connect_rpc");
    let input: ReturnType<typeof fromJson>;
    try {
      const json = rule.bodyIsMessage ? await readJsonBody(req, opts.maxBodyBytes, opts.bodyTimeoutMs) : {};
      input = fromJson(rule.method.input, json, { ignoreUnknownFields: false });
    } catch (e) {
      const refusal = e instanceof HttpError ? e : badRequest(`request body is not a valid ${rule.method.input.name}`);
      sendWireError(res, refusal.wire, requestId);
      return true;
    }
    try {
      applyPathVariables(rule.method.input, input, found.variables);
      applyQueryParameters(rule.method.input, input, queryOf(req.url), rule.bodyIsMessage ? "all" : rule.pathFields);
    } catch (e) {
      if (!(e instanceof RequestFieldError)) throw e;
      const violations = [{ field: e.field, description: e.description }];
      sendWireError(res, createWireError("VALIDATION_ERROR", e.message, { violations }), requestId);
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

/** The still-encoded query string of a request URL, without the "?". */
const queryOf = (url = ""): string => {
  const q = url.indexOf("?");
  return q < 0 ? "" : url.slice(q + 1);
};
