import type { Interceptor } from "@connectrpc/connect";
import { CALL_CONTEXT, callStorage } from "../call-context.js";

/**
 * Re-enters the call's AsyncLocalStorage context around the implementation,
 * so the context survives however the runtime schedules the handler.
 */
export function createCallContextInterceptor(): Interceptor {
  return (next) => (req) => {
    const ctx = req.contextValues.get(CALL_CONTEXT);
    return ctx ? callStorage.run(ctx, () => next(req)) : next(req);
  };
}
