import type { DescMessage, DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ContextValues,
  createConnectRouter,
  createContextValues,
  type Interceptor,
  type UnaryResponse,
} from "@connectrpc/connect";
import { createAsyncIterable, type UniversalClientFn, type UniversalHandler } from "@connectrpc/connect/protocol";
import { createTransport } from "@connectrpc/connect/protocol-connect";
import { CALL_CONTEXT, type CallContext, VIA_REST } from "../call-context.js";

/** One unary RPC, called in this process with the HTTP request's call context. */
export type InProcessCall = <I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  header: Headers,
  input: MessageInitShape<I>,
  call: CallContext,
) => Promise<UnaryResponse<I, O>>;

/**
 * Calls the RPC handlers in this process, behind the same interceptors as
 * the RPC paths, so a REST route runs exactly what the RPC runs. It is
 * Connect's in-memory router transport (`createRouterTransport`), except
 * that the call context the front built for the HTTP request reaches the
 * handlers as a context value, as it does on the RPC paths; the stock one
 * drops context values on its in-memory hop.
 */
export function createInProcessCaller(
  routes: (router: ConnectRouter) => void,
  interceptors: readonly Interceptor[],
): InProcessCall {
  const router = createConnectRouter({ interceptors: [...interceptors], connect: true });
  routes(router);
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
  return (method, header, input, call) => {
    const values = createContextValues().set(CALL_CONTEXT, call).set(VIA_REST, true);
    // A transport per call is a handful of closures: it is what carries the values.
    const transport = createTransport({
      httpClient: inMemoryClient(handlers, values),
      baseUrl: "https://in-memory",
      useBinaryFormat: true,
      interceptors: [],
      acceptCompression: [],
      sendCompression: null,
      compressMinBytes: Number.MAX_SAFE_INTEGER,
      readMaxBytes: Number.MAX_SAFE_INTEGER,
      writeMaxBytes: Number.MAX_SAFE_INTEGER,
    });
    return transport.unary(method, undefined, undefined, header, input);
  };
}

/** Hands a client request straight to the router's handler, with `values` as its context values. */
function inMemoryClient(handlers: ReadonlyMap<string, UniversalHandler>, values: ContextValues): UniversalClientFn {
  return async (req) => {
    const path = new URL(req.url).pathname;
    const handler = handlers.get(path);
    if (handler === undefined) throw new ConnectError(`no handler for ${path}`, Code.Unimplemented);
    const res = await handler({
      httpVersion: "2.0",
      method: req.method,
      url: req.url,
      header: req.header,
      body: req.body ?? createAsyncIterable([]),
      signal: req.signal ?? new AbortController().signal,
      contextValues: values,
    });
    return {
      status: res.status,
      header: new Headers(res.header),
      body: res.body ?? createAsyncIterable([]),
      trailer: new Headers(res.trailer),
    };
  };
}
