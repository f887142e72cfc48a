import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { CALL_CONTEXT } from "./call-context.js";
import { toWireError } from "./errors.js";

/**
 * The RPC side of a call's span, run by the front's request gate for every
 * gRPC, gRPC-Web and Connect call before its body is read: names the span
 * `<package.Service>/<Method>` with the RPC attributes, and records the
 * error the call ends with. The runtime aborts the call's context with that
 * error on every protocol and for every kind of call (unary or streaming,
 * refused before any interceptor or failed in a handler), after the
 * runtime-error patch gave it its final shape, so this one listener sees
 * every outcome without an interceptor. A call that ends well aborts
 * without a reason: its span keeps status code 0. REST calls are named by
 * their route (rest-route.ts) and record their failures as they send them
 * (errors.ts, sendWireError).
 */
export function traceRpcCall(context: HandlerContext): void {
  const trace = context.values.get(CALL_CONTEXT).trace;
  if (trace === undefined) return;
  trace.rpc(context.service.typeName, context.method.name, context.protocolName === "connect" ? "connect_rpc" : "grpc");
  const signal = context.signal;
  signal.addEventListener(
    "abort",
    () => {
      const error: unknown = signal.reason;
      // A plain abort is a call that completed. A client that went away is
      // not a failure of ours: the span ends with CANCELLED (front.ts).
      if (error instanceof DOMException && error.name === "AbortError") return;
      if (error instanceof ConnectError && error.code === Code.Canceled) return;
      // The code the client was sent; for a reason alone the table's code would do, but
      // a deadline (DEADLINE_EXCEEDED) or a body too large (RESOURCE_EXHAUSTED) keep their own.
      const wire = toWireError(error);
      trace.fail(wire.reason, error instanceof ConnectError ? error.code : wire.code);
    },
    { once: true },
  );
}
