import type { DescService } from "@bufbuild/protobuf";
import { type ConnectRouter, createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Config } from "../config.js";
import { describeError, type Logger } from "../logger.js";
import { createRuntimeErrorGate } from "../patches/connect-runtime-errors.js";
import { acceptRequestId, CALL_CONTEXT, type CallContext, callStorage } from "./call-context.js";
import { createClientAddressResolver } from "./client-address.js";
import { createCors } from "./cors.js";
import { createErrorInterceptor, createWireError, reshapeRuntimeError, sendWireError, toWireError } from "./errors.js";
import { createDocsRoute } from "./http/docs-route.js";
import { type HttpRoute, pathOf } from "./http/http-util.js";
import { createCallContextInterceptor } from "./interceptors/call-context.js";
import { createLoggingInterceptor } from "./interceptors/logging.js";
import { createInProcessTransport } from "./rest/in-process.js";
import { createRestRoute } from "./rest/rest-route.js";
import type { NodeHandler, NodeRequest, NodeResponse } from "./server.js";

export interface FrontOptions {
  /** Registers every Connect service (src/routes.ts). */
  readonly routes: (router: ConnectRouter) => void;
  /** The services whose `google.api.http` annotations are served as REST routes. */
  readonly restServices: readonly DescService[];
  /** Plain HTTP routes besides REST and the API docs: JWKS, health, metrics. */
  readonly httpRoutes: readonly HttpRoute[];
  readonly http: Config["http"];
  readonly logger: Logger;
  /** Hears of every finished call: procedure, code and duration (the metrics). */
  readonly onCallDone?: (procedure: string, code: string, seconds: number) => void;
}

/** The HTTP front of the one port: every request of every protocol enters here. */
export interface Front {
  readonly handler: NodeHandler;
  /** From now on every new request gets SERVICE_UNAVAILABLE and its connection is closed. */
  refuseNewRequests(): void;
}

/**
 * The HTTP front: gives each request its id (the `x-request-id` header) and
 * call context, answers CORS, refuses requests once shutdown began, and
 * hands the request to the Connect adapter (gRPC, gRPC-Web, Connect), whose
 * fallback serves the plain HTTP routes, REST and the API docs; anything
 * else is 404 NOT_FOUND. RPC and REST calls go through the same interceptors.
 */
export function createFront(opts: FrontOptions): Front {
  const { logger } = opts;
  // Order matters: the first is the outermost. Logging sees the final,
  // mapped status code; the call context is in place for all of them.
  const interceptors = [
    createCallContextInterceptor(),
    createLoggingInterceptor(logger, opts.onCallDone),
    createErrorInterceptor(logger),
  ];
  const inProcess = createInProcessTransport(opts.routes, interceptors);
  const httpRoutes: readonly HttpRoute[] = [
    ...opts.httpRoutes,
    ...opts.restServices.map((service) =>
      createRestRoute({ service, transport: inProcess, maxBodyBytes: opts.http.maxBodyBytes }),
    ),
    createDocsRoute(),
  ];

  const calls = new WeakMap<NodeRequest, CallContext>();
  const adapter = connectNodeAdapter({
    routes: opts.routes,
    interceptors,
    contextValues: (req) => createContextValues().set(CALL_CONTEXT, calls.get(req)),
    readMaxBytes: opts.http.maxBodyBytes,
    requestGate: createRuntimeErrorGate(reshapeRuntimeError),
    fallback: (req, res) => void serveHttpRoute(req, res, calls.get(req)?.requestId ?? ""),
  });

  async function serveHttpRoute(req: NodeRequest, res: NodeResponse, requestId: string) {
    try {
      for (const route of httpRoutes) if (await route(req, res, requestId)) return;
      sendWireError(res, createWireError("NOT_FOUND", `no route for ${req.method} ${pathOf(req)}`), requestId);
    } catch (e) {
      logger.error("http route failed", describeError(e));
      if (!res.headersSent) sendWireError(res, toWireError(e), requestId);
    }
  }

  const cors = createCors(opts.http.corsOrigins);
  const clientAddress = createClientAddressResolver(opts.http.trustedProxies);
  let refusing = false;

  return {
    handler(req, res) {
      const requestId = acceptRequestId(req.headers["x-request-id"]);
      res.setHeader("x-request-id", requestId);
      const call: CallContext = {
        requestId,
        clientAddress: clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"]),
        startedAt: performance.now(),
      };
      calls.set(req, call);
      if (cors(req, res)) return;
      if (refusing) {
        res.setHeader("Connection", "close");
        sendWireError(res, createWireError("SERVICE_UNAVAILABLE", "server is shutting down"), requestId);
        return;
      }
      callStorage.run(call, () => adapter(req, res));
    },
    refuseNewRequests() {
      refusing = true;
    },
  };
}
