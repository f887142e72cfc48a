import type { Span } from "@opentelemetry/api";
import { currentLogFields, type TraceScope } from "../log-context.js";
import { markFailed } from "./spans.js";
import type { RequestHeaders, Tracing } from "./tracing.js";

/** `rpc.system`: gRPC and gRPC-Web are `grpc`; the Connect protocol and the REST routes (which run Connect handlers) are `connect_rpc`. */
export type RpcSystem = "grpc" | "connect_rpc";

/** gRPC's CANCELLED, for a call whose client went away before it was answered. */
const CANCELLED = 1;

/** HTTP/2 lets a client send any method; others are `_OTHER`, as the HTTP conventions ask, so span names stay few. */
const HTTP_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]);

/**
 * The SERVER span of one HTTP request, started by the front where it builds
 * the call context and ended when the response is finished (or the
 * connection dropped), so it covers REST and streams as well as unary calls.
 *
 * It starts named after the HTTP method only; the parts that learn more
 * name it: the RPC path (interceptor, or the runtime-error hook for calls
 * the runtime refused before any interceptor) as `<package.Service>/<Method>`
 * with the RPC attributes, the REST route as the RPC it runs, a plain HTTP
 * route as `<METHOD> <path>`. A request that matched nothing keeps the bare
 * method, so scanners cannot fill the span names with their URLs. Nothing
 * from the request body, the query string or the headers besides
 * `traceparent`/`tracestate` ever reaches the span.
 */
export class CallSpan implements TraceScope {
  #named = false;
  #rpc = false;
  #failure: { readonly reason: string; readonly code: number } | undefined;

  private constructor(
    readonly span: Span,
    private readonly httpMethod: string,
  ) {}

  static start(tracing: Tracing, requestMethod: string, headers: RequestHeaders): CallSpan {
    const method = HTTP_METHODS.has(requestMethod) ? requestMethod : "_OTHER";
    return new CallSpan(tracing.startServerSpan(method, headers, { "http.request.method": method }), method);
  }

  /** Names the span after the RPC it serves, with the RPC semantic-convention attributes. Once. */
  rpc(service: string, method: string, system: RpcSystem): void {
    if (this.#named) return;
    this.#named = true;
    this.#rpc = true;
    this.span.updateName(`${service}/${method}`);
    this.span.setAttributes({ "rpc.system": system, "rpc.service": service, "rpc.method": method });
  }

  /** Names the span after the plain HTTP route (a fixed path, without query) that served it, unless an RPC named it. */
  route(path: string): void {
    if (this.#named) return;
    this.#named = true;
    this.span.updateName(`${this.httpMethod} ${path}`);
    this.span.setAttribute("http.route", path);
  }

  /** Records why the call failed: an error reason of the error table (README, Errors) and its gRPC code. The first one wins. */
  fail(reason: string, code: number): void {
    this.#failure ??= { reason, code };
  }

  /** Ends the span with the call's outcome, once the response is done. */
  end(httpStatus: number, finished: boolean): void {
    const failure = this.#failure;
    this.span.setAttribute("http.response.status_code", httpStatus);
    if (this.#rpc) this.span.setAttribute("rpc.grpc.status_code", failure?.code ?? (finished ? 0 : CANCELLED));
    if (failure !== undefined) markFailed(this.span, failure.reason);
    else if (!this.#rpc && httpStatus >= 500) markFailed(this.span, String(httpStatus));
    this.span.end();
  }
}

/**
 * Tells the span of the call being served (if it is traced) why it failed.
 * For error answers written outside the RPC interceptors: REST input
 * refusals, plain HTTP routes, NOT_FOUND.
 */
export function recordCallFailure(reason: string, code: number): void {
  currentLogFields()?.trace?.fail?.(reason, code);
}
