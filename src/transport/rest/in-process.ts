import { type ConnectRouter, createRouterTransport, type Interceptor, type Transport } from "@connectrpc/connect";
import { CALL_CONTEXT, currentCall } from "../call-context.js";

/**
 * The in-process transport to the RPC handlers, behind the same interceptors
 * as the RPC paths. The in-memory hop drops Connect's context values, so the
 * first interceptor restores the call context (request id, client address)
 * from the AsyncLocalStorage the HTTP request runs in.
 */
export function createInProcessTransport(
  routes: (router: ConnectRouter) => void,
  interceptors: readonly Interceptor[],
): Transport {
  const restoreCallContext: Interceptor = (next) => (req) => {
    const call = currentCall();
    if (call !== undefined && req.contextValues.get(CALL_CONTEXT) === undefined) {
      req.contextValues.set(CALL_CONTEXT, { ...call, protocol: "rest" });
    }
    return next(req);
  };
  return createRouterTransport(routes, { router: { interceptors: [restoreCallContext, ...interceptors] } });
}
