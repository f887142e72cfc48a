import { ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { ErrorReason } from "../domain/errors.js";
import { ERROR_TABLE } from "../transport/error-table.js";
import { toWireError, type WireError } from "../transport/errors.js";

const isReason = (r: string): r is ErrorReason => Object.hasOwn(ERROR_TABLE, r);

/**
 * The wire error carried by a ConnectError that came back through the
 * in-process transport. The error interceptor already turned the domain
 * error into code + ErrorInfo (+ BadRequest, RetryInfo); reading those
 * details back keeps the precise reason (INVALID_CREDENTIALS rather than
 * just "unauthenticated") and the field violations for the REST body.
 */
export function wireErrorOf(e: unknown): WireError {
  const err = ConnectError.from(e);
  const info = err.findDetails(ErrorInfoSchema)[0];
  if (info === undefined || !isReason(info.reason)) return toWireError(err);
  const { code, http } = ERROR_TABLE[info.reason];
  const retry = err.findDetails(RetryInfoSchema)[0]?.retryDelay;
  const violations = err
    .findDetails(BadRequestSchema)
    .flatMap((b) => b.fieldViolations.map((v) => ({ field: v.field, description: v.description })));
  return {
    reason: info.reason,
    code,
    httpStatus: http,
    message: err.rawMessage,
    violations,
    ...(retry ? { retryAfterMs: Number(retry.seconds) * 1000 + Math.round(retry.nanos / 1e6) } : {}),
  };
}
