import { Code } from "@connectrpc/connect";
import type { ErrorReason } from "../domain/errors.js";

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
  NOT_FOUND: { code: Code.NotFound, http: 404 },
  FAILED_PRECONDITION: { code: Code.FailedPrecondition, http: 412 },
  RATE_LIMITED: { code: Code.ResourceExhausted, http: 429 },
  SERVICE_UNAVAILABLE: { code: Code.Unavailable, http: 503 },
  INTERNAL_ERROR: { code: Code.Internal, http: 500 },
};

/**
 * For errors raised by the Connect runtime itself (bad content type, body too
 * large, malformed message...), which carry a code but no reason.
 */
export function reasonForCode(code: Code): ErrorReason {
  switch (code) {
    case Code.InvalidArgument:
    case Code.OutOfRange:
    case Code.FailedPrecondition:
    case Code.Unimplemented:
    case Code.NotFound: // e.g. a health check for a service this server does not have
      return "VALIDATION_ERROR";
    case Code.Unauthenticated:
      return "INVALID_TOKEN";
    case Code.PermissionDenied:
      return "USER_INACTIVE";
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
