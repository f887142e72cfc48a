import type { Interceptor } from "@connectrpc/connect";
import { describeError, type Logger } from "../../logger.js";
import { CALL_CONTEXT } from "../call-context.js";
import { toConnectError, toWireError } from "../errors.js";

/**
 * Turns whatever a handler throws into the contract's error: status code,
 * ErrorInfo reason and request id. Causes that are not safe to show are
 * logged here (name and code only: driver messages can quote SQL) and never
 * sent.
 */
export function createErrorInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (e) {
      const wire = toWireError(e);
      if (wire.hidden !== undefined) logCause(logger, wire.reason, wire.hidden);
      throw toConnectError(wire, req.contextValues.get(CALL_CONTEXT)?.requestId ?? "");
    }
  };
}

export function logCause(logger: Logger, reason: string, cause: unknown): void {
  const level = reason === "INTERNAL_ERROR" ? "error" : "warn";
  logger.log(level, "call failed", { reason, ...describeError(cause) });
}
