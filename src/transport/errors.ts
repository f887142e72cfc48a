/**
 * The one place where a failure becomes what a client sees, on every
 * protocol: the gRPC/Connect/gRPC-Web status with its google.rpc details,
 * and the HTTP status with the JSON body of the REST routes and the other
 * HTTP routes. Whatever is thrown goes through {@link toWireError} first.
 */

import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { DomainError, type ErrorReason, type FieldViolation } from "../domain/errors.js";
import { describeError, type Logger } from "../logger.js";
import { recordCallFailure } from "../tracing/call-span.js";
import { CALL_CONTEXT } from "./call-context.js";
import { sendJson } from "./http/http-util.js";
import type { NodeResponse } from "./server.js";

/** ErrorInfo.domain of every error this service sends. */
export const ERROR_DOMAIN = "auth.v1";

/**
 * THE table from error reason to status: the gRPC/Connect code and the HTTP
 * status of the REST routes. TypeScript flags a reason missing here.
 */
export const ERROR_TABLE: Readonly<Record<ErrorReason, { readonly code: Code; readonly http: number }>> = {
  VALIDATION_ERROR: { code: Code.InvalidArgument, http: 400 },
  USER_ALREADY_EXISTS: { code: Code.AlreadyExists, http: 409 },
  INVALID_CREDENTIALS: { code: Code.Unauthenticated, http: 401 },
  INVALID_TOKEN: { code: Code.Unauthenticated, http: 401 },
  TOKEN_EXPIRED: { code: Code.Unauthenticated, http: 401 },
  TOKEN_REVOKED: { code: Code.Unauthenticated, http: 401 },
  USER_INACTIVE: { code: Code.PermissionDenied, http: 403 },
  FORBIDDEN: { code: Code.PermissionDenied, http: 403 },
  NOT_FOUND: { code: Code.NotFound, http: 404 },
  FAILED_PRECONDITION: { code: Code.FailedPrecondition, http: 412 },
  RATE_LIMITED: { code: Code.ResourceExhausted, http: 429 },
  SERVICE_UNAVAILABLE: { code: Code.Unavailable, http: 503 },
  INTERNAL_ERROR: { code: Code.Internal, http: 500 },
};

const isReason = (r: string): r is ErrorReason => Object.hasOwn(ERROR_TABLE, r);

/**
 * The reason for an error that carries only a code: those the Connect
 * runtime raises itself (bad content type, body too large, unknown
 * compression...) and the few a handler throws as a bare ConnectError.
 */
function reasonForCode(code: Code): ErrorReason {
  switch (code) {
    case Code.InvalidArgument:
    case Code.OutOfRange:
    case Code.Unimplemented:
      return "VALIDATION_ERROR";
    case Code.NotFound: // e.g. a health check for a service this server does not have
      return "NOT_FOUND";
    case Code.FailedPrecondition:
      return "FAILED_PRECONDITION";
    case Code.Unauthenticated:
      return "INVALID_TOKEN";
    case Code.PermissionDenied:
      return "FORBIDDEN";
    case Code.ResourceExhausted:
      // From the runtime this means a message over MAX_BODY_BYTES: nothing a
      // retry would fix. The service's own rate limits carry RATE_LIMITED.
      return "VALIDATION_ERROR";
    case Code.Unavailable:
    case Code.DeadlineExceeded:
    case Code.Canceled:
      return "SERVICE_UNAVAILABLE";
    case Code.AlreadyExists:
      return "USER_ALREADY_EXISTS";
    default:
      return "INTERNAL_ERROR";
  }
}

/** What a client is told about a failure, whatever the protocol. */
export interface WireError {
  readonly reason: ErrorReason;
  readonly code: Code;
  readonly httpStatus: number;
  readonly message: string;
  readonly violations: readonly FieldViolation[];
  readonly retryAfterMs?: number;
  /** The original error when it is not safe to show; for the log only. */
  readonly hidden?: unknown;
}

/**
 * A wire error for a reason and a message that is safe to show. The code and
 * HTTP status come from the table unless given: the REST routes answer some
 * VALIDATION_ERRORs with 405, 413 or 415, and a body over the size limit keeps
 * gRPC's RESOURCE_EXHAUSTED.
 */
export function createWireError(
  reason: ErrorReason,
  message: string,
  options: { readonly code?: Code; readonly httpStatus?: number; readonly violations?: readonly FieldViolation[] } = {},
): WireError {
  return {
    reason,
    code: options.code ?? ERROR_TABLE[reason].code,
    httpStatus: options.httpStatus ?? ERROR_TABLE[reason].http,
    message,
    violations: options.violations ?? [],
  };
}

/** An error the HTTP front answers itself (a REST body it refuses, say), carrying its wire error. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(readonly wire: WireError) {
    super(wire.message);
  }
}

const INTERNAL_MESSAGE = "internal error";

/** Reasons whose domain message is replaced by a generic one: the client can do nothing with more. */
const GENERIC_MESSAGE: Partial<Record<ErrorReason, string>> = {
  INTERNAL_ERROR: INTERNAL_MESSAGE,
  SERVICE_UNAVAILABLE: "service temporarily unavailable, try again later",
};

/**
 * Normalises anything thrown into a {@link WireError}:
 * - a DomainError keeps its reason and message (INTERNAL_ERROR and
 *   SERVICE_UNAVAILABLE get a generic one), its cause goes to the log only;
 * - a ConnectError with our ErrorInfo (one that came back through the
 *   in-process REST hop) keeps its precise reason, violations and retry delay;
 * - any other ConnectError that is not INTERNAL/UNKNOWN keeps its code and
 *   gets the reason for that code;
 * - everything else is INTERNAL_ERROR, whose details go only to the log.
 *
 * A database outage arrives here already as a DomainError
 * SERVICE_UNAVAILABLE: the database guard (src/db/resilience.ts) is the one
 * place that decides what an outage is.
 */
export function toWireError(e: unknown): WireError {
  if (e instanceof HttpError) return e.wire;
  if (e instanceof DomainError) {
    const { code, http } = ERROR_TABLE[e.reason];
    return {
      reason: e.reason,
      code,
      httpStatus: http,
      message: GENERIC_MESSAGE[e.reason] ?? e.message,
      violations: e.violations,
      retryAfterMs: e.retryAfterMs,
      hidden: e.cause,
    };
  }
  if (e instanceof ConnectError) {
    const info = e.findDetails(ErrorInfoSchema)[0];
    if (info !== undefined && info.domain === ERROR_DOMAIN && isReason(info.reason)) return fromDetails(e, info.reason);
    if (e.code !== Code.Internal && e.code !== Code.Unknown) {
      const reason = reasonForCode(e.code);
      return createWireError(reason, e.code === Code.InvalidArgument ? "malformed request" : e.rawMessage, {
        code: e.code,
      });
    }
  }
  return { ...createWireError("INTERNAL_ERROR", INTERNAL_MESSAGE), hidden: e };
}

/** Reads back the wire error that {@link toConnectError} put into a ConnectError's details. */
function fromDetails(e: ConnectError, reason: ErrorReason): WireError {
  const retry = e.findDetails(RetryInfoSchema)[0]?.retryDelay;
  const violations = e
    .findDetails(BadRequestSchema)
    .flatMap((b) => b.fieldViolations.map((v) => ({ field: v.field, description: v.description })));
  return {
    ...createWireError(reason, e.rawMessage, { violations }),
    ...(retry ? { retryAfterMs: Number(retry.seconds) * 1000 + Math.round(retry.nanos / 1e6) } : {}),
  };
}

/** The ConnectError for a wire error: code, message and the google.rpc details of the contract. */
export function toConnectError(w: WireError, requestId: string): ConnectError {
  const details: ConstructorParameters<typeof ConnectError>[3] = [
    { desc: ErrorInfoSchema, value: { reason: w.reason, domain: ERROR_DOMAIN, metadata: { request_id: requestId } } },
  ];
  if (w.violations.length > 0) {
    details.push({
      desc: BadRequestSchema,
      value: { fieldViolations: w.violations.map((v) => ({ field: v.field, description: v.description })) },
    });
  }
  if (w.retryAfterMs !== undefined) {
    details.push({
      desc: RetryInfoSchema,
      value: create(RetryInfoSchema, { retryDelay: durationFromMs(w.retryAfterMs) }),
    });
  }
  return new ConnectError(w.message, w.code, undefined, details);
}

/**
 * Answers an HTTP request with a wire error: its HTTP status, Retry-After
 * when there is a delay, and the JSON body
 * `{"error_code","detail","timestamp","request_id"}` (plus `field_violations`).
 * The span of the call, if it is traced, learns the reason.
 */
export function sendWireError(
  res: NodeResponse,
  w: WireError,
  requestId: string,
  extraHeaders: Record<string, string> = {},
): void {
  recordCallFailure(w.reason, w.code);
  const headers: Record<string, string> = { ...extraHeaders };
  if (w.retryAfterMs !== undefined) headers["Retry-After"] = String(Math.max(1, Math.ceil(w.retryAfterMs / 1000)));
  sendJson(res, w.httpStatus, wireErrorBody(w, requestId), headers);
}

/** The JSON error body of the HTTP routes; Envoy's denied responses carry it too. */
export function wireErrorBody(w: WireError, requestId: string) {
  return {
    error_code: w.reason,
    detail: w.message,
    timestamp: new Date().toISOString(),
    request_id: requestId,
    ...(w.violations.length > 0 ? { field_violations: w.violations } : {}),
  };
}

/**
 * The interceptor that gives whatever a handler throws the contract's shape:
 * status code, ErrorInfo reason and request id. Causes that are not safe to
 * show are logged here (name and code only: driver messages can quote SQL)
 * and never sent.
 */
export function createErrorInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (e) {
      const wire = toWireError(e);
      if (wire.hidden !== undefined) {
        logger.log(wire.reason === "INTERNAL_ERROR" ? "error" : "warn", "call failed", {
          reason: wire.reason,
          ...describeError(wire.hidden),
        });
      }
      throw toConnectError(wire, req.contextValues.get(CALL_CONTEXT)?.requestId ?? "");
    }
  };
}

const UNPARSABLE = /^(parse binary:|received parsed JSON request body)/;

/**
 * The contract's shape for an error the Connect runtime raised before any
 * interceptor ran (see src/patches/connect-runtime-errors.ts for how it is
 * reached): a request body that does not parse is INVALID_ARGUMENT /
 * VALIDATION_ERROR naming the body (Connect-ES reports undecodable binary as
 * INTERNAL "parse binary: …" and undecodable JSON as INVALID_ARGUMENT, both
 * without ErrorInfo); a body over MAX_BODY_BYTES keeps RESOURCE_EXHAUSTED
 * with reason VALIDATION_ERROR; every other such error (unknown compression,
 * bad timeout header) gets its reason and the request id. Returns undefined
 * for errors that already carry details: those passed the error interceptor.
 */
export function reshapeRuntimeError(error: ConnectError, context: HandlerContext): ConnectError | undefined {
  if (error.details.length > 0) return undefined;
  const malformed =
    error.code === Code.InvalidArgument || (error.code === Code.Internal && UNPARSABLE.test(error.rawMessage));
  const wire = malformed
    ? createWireError("VALIDATION_ERROR", "malformed request", {
        violations: [{ field: "body", description: `is not a valid ${context.method.input.typeName} message` }],
      })
    : error.code === Code.ResourceExhausted
      ? createWireError(reasonForCode(error.code), "request body is too large", {
          code: Code.ResourceExhausted,
          violations: [{ field: "body", description: "is larger than the server accepts" }],
        })
      : error.code === Code.Internal || error.code === Code.Unknown
        ? createWireError("INTERNAL_ERROR", INTERNAL_MESSAGE)
        : createWireError(reasonForCode(error.code), error.rawMessage, { code: error.code });
  return toConnectError(wire, context.values.get(CALL_CONTEXT)?.requestId ?? "");
}
