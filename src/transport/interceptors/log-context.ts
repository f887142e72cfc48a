import type { Interceptor } from "@connectrpc/connect";
import { withLogFields } from "../../log-context.js";
import { CALL_CONTEXT } from "../call-context.js";

/**
 * Re-enters the call's log fields around the implementation, so log lines
 * carry the request id however the runtime schedules the handler (and on
 * the in-process REST hop).
 */
export function createLogContextInterceptor(): Interceptor {
  return (next) => (req) => withLogFields(req.contextValues.get(CALL_CONTEXT), () => next(req));
}
