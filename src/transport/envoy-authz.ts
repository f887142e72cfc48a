import { create } from "@bufbuild/protobuf";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import {
  type HeaderValueOption,
  HeaderValueOption_HeaderAppendAction,
  HeaderValueOptionSchema,
} from "../../gen/envoy/config/core/v3/base_pb.js";
import {
  type Authorization as AuthorizationDesc,
  type CheckRequest,
  type CheckResponse,
  CheckResponseSchema,
} from "../../gen/envoy/service/auth/v3/external_auth_pb.js";
import type { Authorization, TokenChecks } from "../domain/token-checks.js";
import { CALL_CONTEXT } from "./call-context.js";
import { wireErrorBody } from "./errors.js";
import { presentedBearerToken } from "./mappers.js";
import { denialOf, IDENTITY_HEADERS, identityHeaders } from "./proxy-decision.js";

/**
 * Envoy's external authorization (`envoy.service.auth.v3.Authorization/Check`,
 * the ext_authz HTTP filter's gRPC protocol), on the service's one port. The
 * decision is TokenChecks.authorize on the request's `authorization` header;
 * a bad token is an answer (a denial), never a gRPC error. Only an outage
 * fails the call (UNAVAILABLE, by the error interceptor), and Envoy then
 * applies its own `failure_mode_allow` setting.
 */
export function createEnvoyAuthzHandlers(checks: TokenChecks) {
  return {
    check: async (req, ctx) =>
      checkResponse(
        await checks.authorize(presentedBearerToken(authorizationHeader(req))),
        ctx.values.get(CALL_CONTEXT).requestId,
      ),
  } satisfies ServiceImpl<typeof AuthorizationDesc>;
}

/**
 * The request's `authorization` header: from `headers` (names lower-cased by
 * Envoy), or from `header_map` when Envoy sends raw headers
 * (`encode_raw_headers: true`).
 */
function authorizationHeader(req: CheckRequest): string | undefined {
  const http = req.attributes?.request?.http;
  if (!http) return undefined;
  const value = http.headers.authorization;
  if (value !== undefined) return value;
  const raw = http.headerMap?.headers.find((h) => h.key.toLowerCase() === "authorization");
  if (!raw) return undefined;
  return raw.rawValue.length > 0 ? Buffer.from(raw.rawValue).toString("utf8") : raw.value;
}

/**
 * OVERWRITE_IF_EXISTS_OR_ADD: a value the client sent under the same name
 * is replaced, so a client cannot pose as another user. keep_empty_value:
 * an empty x-user-roles must still replace the client's value.
 */
const overwrite = (key: string, value: string): HeaderValueOption =>
  create(HeaderValueOptionSchema, {
    header: { key, value },
    appendAction: HeaderValueOption_HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD,
    keepEmptyValue: true,
  });

function checkResponse(decision: Authorization, requestId: string): CheckResponse {
  if (decision.allowed) {
    return create(CheckResponseSchema, {
      status: { code: 0 },
      httpResponse: {
        case: "okResponse",
        value: {
          headers: identityHeaders(decision).map(([k, v]) => overwrite(k, v)),
          // With no roles, also drop the header outright: an Envoy that
          // drops empty header values despite keep_empty_value must not let
          // a client-sent x-user-roles through.
          headersToRemove: decision.roles.length === 0 ? [IDENTITY_HEADERS.roles] : [],
        },
      },
    });
  }
  const denial = denialOf(decision.kind);
  return create(CheckResponseSchema, {
    status: {
      code: denial.httpStatus === 403 ? Code.PermissionDenied : Code.Unauthenticated,
      message: denial.wire.message,
    },
    httpResponse: {
      case: "deniedResponse",
      value: {
        status: { code: denial.httpStatus },
        headers: [
          overwrite("www-authenticate", denial.wwwAuthenticate),
          overwrite("content-type", "application/json; charset=utf-8"),
        ],
        body: JSON.stringify(wireErrorBody(denial.wire, requestId)),
      },
    },
  });
}
