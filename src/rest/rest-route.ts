import { type DescService, fromJson, toJson } from "@bufbuild/protobuf";
import type { Transport } from "@connectrpc/connect";
import { type HttpRoute, pathOf, sendError, sendJson } from "../transport/http-util.js";
import { httpRulesOf } from "./http-rules.js";
import { BodyError, badRequest, readJsonBody } from "./json-body.js";
import { applyQueryParameters } from "./query-params.js";
import { applyPathVariables, RequestFieldError } from "./request-fields.js";
import { createRouteTable } from "./route-table.js";
import { wireErrorOf } from "./wire-errors.js";

export interface RestRouteOptions {
  /** The services whose `google.api.http` annotations declare the routes. */
  readonly services: readonly DescService[];
  /**
   * Reaches the same handlers and interceptors as the RPC paths, e.g.
   * `createRouterTransport(routes, { router: { interceptors } })`.
   */
  readonly transport: Transport;
  readonly maxBodyBytes: number;
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

  return async (req, res, requestId) => {
    const found = lookup(req.method ?? "", pathOf(req));
    if (found === undefined) return false;
    if (found.kind === "method-not-allowed") {
      res.setHeader("Allow", found.allowed.join(", "));
      sendError(res, badRequest(`method ${req.method ?? ""} not allowed`, 405), requestId);
      return true;
    }
    const { rule } = found;
    let input: ReturnType<typeof fromJson>;
    try {
      const json = rule.bodyIsMessage ? await readJsonBody(req, opts.maxBodyBytes) : {};
      input = fromJson(rule.method.input, json, { ignoreUnknownFields: false });
    } catch (e) {
      sendError(
        res,
        e instanceof BodyError ? e.wire : badRequest(`request body is not a valid ${rule.method.input.name}`),
        requestId,
      );
      return true;
    }
    try {
      applyPathVariables(rule.method.input, input, found.variables);
      applyQueryParameters(rule.method.input, input, queryOf(req.url), rule.bodyIsMessage ? "all" : rule.pathFields);
    } catch (e) {
      if (!(e instanceof RequestFieldError)) throw e;
      sendError(
        res,
        { ...badRequest(e.message), violations: [{ field: e.field, description: e.description }] },
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

/** The still-encoded query string of a request URL, without the "?". */
const queryOf = (url = ""): string => {
  const q = url.indexOf("?");
  return q < 0 ? "" : url.slice(q + 1);
};
