import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { CALL_CONTEXT } from "./call-context.js";
import { reasonForCode } from "./error-table.js";
import { toConnectError, type WireError, wireError } from "./errors.js";

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Gives errors raised by the Connect runtime itself — before any interceptor
 * runs — the contract's shape: a request body that does not parse becomes
 * INVALID_ARGUMENT / VALIDATION_ERROR (Connect-ES reports undecodable binary
 * as INTERNAL, "parse binary: …", and undecodable JSON as INVALID_ARGUMENT
 * with no ErrorInfo), and every other such error (body over MAX_BODY_BYTES,
 * unknown compression, bad timeout header) gets its ErrorInfo reason and
 * request id.
 *
 * Connect-ES offers no hook around its message parsing (BinaryReadOptions has
 * no reader factory, and the serialisation catches and re-codes whatever a
 * parser throws). What it does do, on every protocol, is abort the call's
 * context with the error just before it serialises it; and the request gate
 * runs for every call before its body is read. So the gate listens on that
 * signal and rewrites the error in place. Errors that already carry details
 * passed the error interceptor and are left alone.
 */
export function runtimeErrorGate(context: HandlerContext): void {
  const signal = context.signal;
  signal.addEventListener("abort", () => reshape(signal.reason, context), { once: true });
}

const UNPARSABLE = /^(parse binary:|received parsed JSON request body)/;

function reshape(reason: unknown, context: HandlerContext): void {
  if (!(reason instanceof ConnectError) || reason.details.length > 0) return;
  const malformed =
    reason.code === Code.InvalidArgument || (reason.code === Code.Internal && UNPARSABLE.test(reason.rawMessage));
  const wire: WireError = malformed
    ? {
        ...wireError("VALIDATION_ERROR", "malformed request"),
        violations: [{ field: "body", description: `is not a valid ${context.method.input.typeName} message` }],
      }
    : reason.code === Code.ResourceExhausted
      ? // A body over MAX_BODY_BYTES: gRPC's conventional code, and the field it concerns.
        {
          ...wireError(reasonForCode(reason.code), "request body is too large"),
          code: Code.ResourceExhausted,
          violations: [{ field: "body", description: "is larger than the server accepts" }],
        }
      : reason.code === Code.Internal || reason.code === Code.Unknown
        ? wireError("INTERNAL_ERROR", "internal error")
        : { ...wireError(reasonForCode(reason.code), reason.rawMessage), code: reason.code };
  const shaped = toConnectError(wire, context.values.get(CALL_CONTEXT)?.requestId ?? "");
  const target = reason as Writable<ConnectError>;
  target.code = shaped.code;
  target.rawMessage = shaped.rawMessage;
  target.message = shaped.message;
  target.details = shaped.details;
}
