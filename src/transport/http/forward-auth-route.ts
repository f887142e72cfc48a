import type { TokenChecks } from "../../domain/token-checks.js";
import { sendWireError } from "../errors.js";
import { presentedBearerToken } from "../mappers.js";
import { denialOf, identityHeaders } from "../proxy-decision.js";
import { type HttpRoute, pathOf } from "./http-util.js";

/**
 * /forward-auth for ingress proxies (nginx `auth_request`, Traefik
 * `ForwardAuth`): the decision of Envoy's Check over plain HTTP. 200 with
 * x-user-id, x-session-id and x-user-roles for the proxy to copy onto the
 * upstream request; 401 with `www-authenticate` for no or a bad token; 403
 * for a deactivated user; 503 on an outage. Documented as GET, but every
 * method gets the same answer: an nginx subrequest keeps the client's
 * method, and the decision depends on the `authorization` header alone (the
 * body is never read).
 */
export function createForwardAuthRoute(checks: Pick<TokenChecks, "authorize">): HttpRoute {
  return async (req, res, call) => {
    if (pathOf(req) !== "/forward-auth") return false;
    const decision = await checks.authorize(presentedBearerToken(req.headers.authorization));
    res.setHeader("Cache-Control", "no-store");
    if (decision.allowed) {
      res.statusCode = 200;
      for (const [name, value] of identityHeaders(decision)) res.setHeader(name, value);
      res.end();
      return true;
    }
    const denial = denialOf(decision.kind);
    sendWireError(res, { ...denial.wire, httpStatus: denial.httpStatus }, call.requestId, {
      "WWW-Authenticate": denial.wwwAuthenticate,
    });
    return true;
  };
}
