import type { DescService } from "@bufbuild/protobuf";
import { type ConnectRouter, createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Config } from "../config.js";
import { withLogFields } from "../log-context.js";
import { describeError, type Logger } from "../logger.js";
import { createRuntimeErrorGate } from "../patches/connect-runtime-errors.js";
import { CallSpan } from "../tracing/call-span.js";
import type { Tracing } from "../tracing/tracing.js";
import { acceptRequestId, CALL_CONTEXT, type CallContext } from "./call-context.js";
import { traceRpcCall } from "./call-tracing.js";
import { createClientAddressResolver } from "./client-address.js";
import { createCors } from "./cors.js";
import { createErrorInterceptor, createWireError, reshapeRuntimeError, sendWireError, toWireError } from "./errors.js";
import { createDocsRoute } from "./http/docs-route.js";
import { type HttpRoute, pathOf } from "./http/http-util.js";
import { createLogContextInterceptor } from "./interceptors/log-context.js";
import { createLoggingInterceptor } from "./interceptors/logging.js";
import { createInProcessCaller } from "./rest/in-process.js";
import { createRestRoute } from "./rest/rest-route.js";
import type { NodeHandler, NodeRequest, NodeResponse } from "./server.js";

export interface FrontOptions {
  /** Registers every Connect service (src/routes.ts). */
  readonly routes: (router: ConnectRouter) => void;
  /** The services whose `google.api.http` annotations are served as REST routes. */
  readonly restServices: readonly DescService[];
  /** Plain HTTP routes besides REST and the API docs: JWKS, health, metrics. */
  readonly httpRoutes: readonly HttpRoute[];
  readonly http: Pick<Config["http"], "maxBodyBytes" | "corsOrigins" | "trustedProxies"> & {
    /** A REST body must have arrived within this long (HTTP_REQUEST_TIMEOUT_MS). */
    readonly requestTimeoutMs?: number;
  };
  readonly logger: Logger;
  /** Hears of every finished call: procedure, code and duration (the metrics). */
  readonly onCallDone?: (procedure: string, code: string, seconds: number) => void;
  /** Set only while tracing is on: every request becomes a server span. Undefined: no span work at all. */
  readonly tracing?: Tracing;
}

/** The HTTP front of the one port: every request of every protocol enters here. */
export interface Front {
  readonly handler: NodeHandler;
  /** From now on every new request gets SERVICE_UNAVAILABLE and its connection is closed. */
  refuseNewRequests(): void;
}

/**
 * The HTTP front. For each request it builds the call context once (request
 * id, also sent back as `x-request-id`; client address; user agent; start
 * time), answers CORS, refuses the request once shutdown began, and
 * otherwise passes it to the Connect adapter (gRPC, gRPC-Web, Connect). The
 * adapter's fallback serves the plain HTTP routes, REST and the API docs;
 * anything else is 404 NOT_FOUND. RPC and REST calls go through the same
 * interceptors and see the same call context. While tracing is on, the
 * call context also holds the request's server span (src/tracing/call-span.ts),
 * ended when the response is.
 */
export function createFront(opts: FrontOptions): Front {
  const { logger, tracing } = opts;
  // Order matters: the first is the outermost. Logging sees the final,
  // mapped status code; the log fields are in place for all of them.
  const interceptors = [
    createLogContextInterceptor(),
    createLoggingInterceptor(logger, opts.onCallDone),
    createErrorInterceptor(logger),
  ];
  const inProcess = createInProcessCaller(opts.routes, interceptors);
  const httpRoutes: readonly HttpRoute[] = [
    ...opts.httpRoutes,
    createRestRoute({
      services: opts.restServices,
      call: inProcess,
      maxBodyBytes: opts.http.maxBodyBytes,
      bodyTimeoutMs: opts.http.requestTimeoutMs,
    }),
    createDocsRoute(),
  ];

  const cors = createCors(opts.http.corsOrigins);
  const clientAddress = createClientAddressResolver(opts.http.trustedProxies);
  const calls = new WeakMap<NodeRequest, CallContext>();
  const newCall = (req: NodeRequest): CallContext => {
    const call: CallContext = {
      requestId: acceptRequestId(req.headers["x-request-id"]),
      clientAddress: clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"]),
      userAgent: req.headers["user-agent"] ?? "",
      startedAt: performance.now(),
      trace: tracing && CallSpan.start(tracing, req.method ?? "", req.headers),
    };
    calls.set(req, call);
    return call;
  };
  const runtimeErrorGate = createRuntimeErrorGate(reshapeRuntimeError);
  const adapter = connectNodeAdapter({
    routes: opts.routes,
    interceptors,
    contextValues: (req) => createContextValues().set(CALL_CONTEXT, calls.get(req) ?? newCall(req)),
    readMaxBytes: opts.http.maxBodyBytes,
    // The runtime-error gate first: its abort listener reshapes the error the tracing one records.
    requestGate: tracing
      ? (context) => {
          runtimeErrorGate(context);
          traceRpcCall(context);
        }
      : runtimeErrorGate,
    fallback: (req, res) => void serveHttpRoute(req, res, calls.get(req) ?? newCall(req)),
  });

  async function serveHttpRoute(req: NodeRequest, res: NodeResponse, call: CallContext) {
    try {
      for (const route of httpRoutes) {
        if (await route(req, res, call)) {
          call.trace?.route(pathOf(req));
          return;
        }
      }
      sendWireError(res, createWireError("NOT_FOUND", `no route for ${req.method} ${pathOf(req)}`), call.requestId);
    } catch (e) {
      logger.error("http route failed", describeError(e));
      if (!res.headersSent) sendWireError(res, toWireError(e), call.requestId);
    }
  }

  let refusing = false;

  return {
    handler(req, res) {
      const call = newCall(req);
      const { trace } = call;
      if (trace) res.once("close", () => trace.end(res.statusCode, res.writableEnded));
      res.setHeader("x-request-id", call.requestId);
      if (cors(req, res)) return;
      if (refusing) {
        res.setHeader("Connection", "close");
        const refusal = createWireError("SERVICE_UNAVAILABLE", "server is shutting down");
        trace?.fail(refusal.reason, refusal.code);
        sendWireError(res, refusal, call.requestId);
        return;
      }
      withLogFields(call, () => adapter(req, res));
    },
    refuseNewRequests() {
      refusing = true;
    },
  };
}
