import { create } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { isInfrastructureError } from "../db/infra-errors.js";
import { DomainError, type ErrorReason, serviceUnavailable } from "../domain/errors.js";
import { ERROR_TABLE, reasonForCode } from "./error-table.js";

export const ERROR_DOMAIN = "auth.v1";

const GENERIC_MESSAGE: Partial<Record<ErrorReason, string>> = {
  INTERNAL_ERROR: "internal error",
  SERVICE_UNAVAILABLE: "service temporarily unavailable, try again later",
};

/** A failure as the wire contract describes it, whatever the protocol. */
export interface WireError {
  readonly reason: ErrorReason;
  readonly code: Code;
  readonly httpStatus: number;
  readonly message: string;
  readonly violations: DomainError["violations"];
  readonly retryAfterMs?: number;
  /** The original error when it is not safe to show; for the log only. */
  readonly hidden?: unknown;
}

/**
 * Normalises anything thrown into a {@link WireError}. Domain errors keep
 * their reason and message; database failures become SERVICE_UNAVAILABLE;
 * errors of the Connect runtime keep their code; everything else is an
 * INTERNAL_ERROR whose details go only to the log.
 */
export function toWireError(e: unknown): WireError {
  if (isInfrastructureError(e)) e = serviceUnavailable(e);
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
  if (e instanceof ConnectError && e.code !== Code.Internal && e.code !== Code.Unknown) {
    const reason = reasonForCode(e.code);
    return {
      reason,
      code: e.code,
      httpStatus: ERROR_TABLE[reason].http,
      message: e.code === Code.InvalidArgument ? "malformed request" : e.rawMessage,
      violations: [],
    };
  }
  return {
    reason: "INTERNAL_ERROR",
    code: Code.Internal,
    httpStatus: 500,
    message: GENERIC_MESSAGE.INTERNAL_ERROR ?? "internal error",
    violations: [],
    hidden: e,
  };
}

/** A wire error for a reason and a message that is safe to show. */
export const wireError = (reason: ErrorReason, message: string): WireError => ({
  reason,
  code: ERROR_TABLE[reason].code,
  httpStatus: ERROR_TABLE[reason].http,
  message,
  violations: [],
});

/** The ConnectError for a wire error: code, message and the google.rpc details of API.md. */
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
