import { type ConnectRouter, createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { AuthService as AuthServiceDesc } from "../gen/auth/v1/auth_pb.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import type { Config } from "./config.js";
import { createOrm, migrate, type Orm } from "./db/orm.js";
import { createDbProbe } from "./db/probe.js";
import { createSessionRepository, createUserRepository } from "./db/repositories.js";
import { createDbGuard, type DbGuard, guarded } from "./db/resilience.js";
import { type AuthService, createAuthService } from "./domain/auth-service.js";
import { type AuthEvents, combineEvents } from "./domain/events.js";
import { type Clock, systemClock } from "./domain/ports.js";
import { createHealthMonitor, type HealthMonitor } from "./health/health-monitor.js";
import { createHealthHandlers } from "./health/health-service.js";
import { createHealthRoute } from "./health/http-route.js";
import { createLogger, describeError, type Logger } from "./logger.js";
import { createMetrics, type Metrics } from "./metrics/metrics.js";
import { createBcryptHasher, unmatchableHash } from "./passwords/bcrypt-hasher.js";
import { loadPasswordBlocklist } from "./passwords/blocklist.js";
import { createHashLimiter, type HashLimiter } from "./passwords/hash-limiter.js";
import { createAbuseGuard } from "./rate-limit/abuse-guard.js";
import { openLimiterStore } from "./rate-limit/stores.js";
import { registerReflection } from "./reflection/reflection-service.js";
import { createDocsRoute } from "./rest/docs.js";
import { createInProcessTransport } from "./rest/in-process-transport.js";
import { createRestRoute } from "./rest/rest-route.js";
import { createAccessTokens } from "./tokens/access-tokens.js";
import { type KeyRing, loadKeyRing } from "./tokens/keys.js";
import { createAuditLog } from "./transport/audit-log.js";
import { createAuthHandlers } from "./transport/auth-handlers.js";
import { acceptRequestId, CALL_CONTEXT, type CallContext, callStorage } from "./transport/call-context.js";
import { createClientAddressResolver } from "./transport/client-address.js";
import { createCors } from "./transport/cors.js";
import { toWireError, wireError } from "./transport/errors.js";
import { type HttpRoute, pathOf, sendError, sendJson, sendNotFound } from "./transport/http-util.js";
import { createCallContextInterceptor } from "./transport/interceptors/call-context.js";
import { createErrorInterceptor } from "./transport/interceptors/errors.js";
import { createLoggingInterceptor } from "./transport/interceptors/logging.js";
import { runtimeErrorGate } from "./transport/runtime-errors.js";
import { createServer, type NodeRequest, type NodeResponse, type ServerHandle } from "./transport/server.js";

export interface AppOptions {
  /** Where log lines go; stdout by default. Tests capture them here. */
  readonly logStream?: NodeJS.WritableStream;
  readonly clock?: Clock;
  /** More Connect services on the same router, e.g. the benchmark's in-service echo (bench/). */
  readonly extraRoutes?: (router: ConnectRouter) => void;
}

export interface App {
  readonly config: Config;
  readonly logger: Logger;
  readonly orm: Orm;
  readonly keys: KeyRing;
  readonly auth: AuthService;
  readonly hashLimiter: HashLimiter;
  readonly server: ServerHandle;
  readonly dbGuard: DbGuard;
  readonly health: HealthMonitor;
  readonly metrics: Metrics;
  /** Starts serving; resolves with the bound port. */
  listen(): Promise<number>;
  /** Graceful stop: refuse new calls, finish those in flight, close the database. */
  close(): Promise<void>;
}

/**
 * The composition root: builds every part from the config and wires them
 * together. Nothing else constructs services; nothing here is global.
 */
export async function createApp(config: Config, opts: AppOptions = {}): Promise<App> {
  const logger = createLogger(config.logLevel, opts.logStream);
  const clock = opts.clock ?? systemClock;

  const orm = await createOrm(config.database, {
    poolSize: config.resilience.dbPoolSize,
    statementTimeoutMs: config.resilience.dbTimeoutMs,
  });
  const hashLimiter = createHashLimiter(config.password.hashConcurrency, config.password.hashQueueTimeoutMs);
  const passwords = createBcryptHasher(config.password.bcryptRounds, hashLimiter);
  // Started now, awaited after the migrations: it overlaps them.
  const blocklistLoading = loadPasswordBlocklist();
  let keys: KeyRing;
  let dummyHash: string;
  try {
    // Independent start-up work runs side by side: schema, keys, the dummy hash.
    [, keys, dummyHash] = await Promise.all([
      migrate(orm),
      loadKeyRing({
        privateKey: config.jwt.privateKey,
        privateKeyFile: config.jwt.privateKeyFile,
        keysDir: config.jwt.keysDir,
        dataDir: config.dataDir,
        allowGenerate: config.env !== "production",
      }),
      unmatchableHash(config.password.bcryptRounds),
    ]);
  } catch (e) {
    await orm.close(true);
    throw e;
  }

  // Every repository call runs under one timeout and circuit breaker; the
  // health probe shares them, so it also serves as the breaker's trial call.
  const dbGuard = createDbGuard({
    timeoutMs: config.resilience.dbTimeoutMs,
    breakerThreshold: config.resilience.breakerThreshold,
    halfOpenAfterMs: config.resilience.breakerHalfOpenAfterMs,
  });
  const health = createHealthMonitor({ probe: createDbProbe(orm, config.database.kind), guard: dbGuard, logger });
  const metrics = createMetrics({ hashLimiter, breakerState: () => dbGuard.state });

  const auditLog: AuthEvents = createAuditLog(logger);
  const passwordBlocklist = await blocklistLoading;
  const limiterStore = await openLimiterStore(config.rateLimit, config.database, logger).catch(async (e: unknown) => {
    await orm.close(true);
    throw e;
  });
  const auth = createAuthService({
    users: guarded(createUserRepository(orm), dbGuard),
    sessions: guarded(createSessionRepository(orm), dbGuard),
    passwords,
    accessTokens: createAccessTokens(
      keys,
      { issuer: config.jwt.issuer, audience: config.jwt.audience, ttlSeconds: config.jwt.accessTtlSeconds },
      clock,
    ),
    clock,
    events: combineEvents(auditLog, metrics.events),
    dummyHash,
    passwordBlocklist,
    loginGuard: config.rateLimit.enabled ? createAbuseGuard(config.rateLimit, limiterStore, auditLog) : undefined,
    policy: {
      passwordMinLength: config.password.minLength,
      refreshTtlSeconds: config.jwt.refreshTtlSeconds,
      sessionMaxLifetimeSeconds: config.jwt.sessionMaxLifetimeSeconds,
      refreshReuseIntervalSeconds: config.jwt.refreshReuseIntervalSeconds,
    },
  });

  const routes = (router: ConnectRouter) => {
    router.service(AuthServiceDesc, createAuthHandlers(auth));
    router.service(Health, createHealthHandlers(health, [AuthServiceDesc.typeName]));
    opts.extraRoutes?.(router);
    // Reflection lists whatever was registered above, extra services included.
    registerReflection(router, [...new Set(router.handlers.map((h) => h.service))]);
  };

  // Order matters: the first is the outermost. Logging sees the final,
  // mapped status code; the call context is in place for all of them.
  // The REST routes go through the same list.
  const interceptors = [
    createCallContextInterceptor(),
    createLoggingInterceptor(logger, metrics.onCallDone),
    createErrorInterceptor(logger),
  ];

  const httpRoutes: HttpRoute[] = [
    (req, res) => {
      if (req.method !== "GET" || pathOf(req) !== "/.well-known/jwks.json") return false;
      sendJson(res, 200, keys.jwks, { "Cache-Control": "public, max-age=300" });
      return true;
    },
    createHealthRoute(health),
    metrics.route,
    createRestRoute({
      service: AuthServiceDesc,
      transport: createInProcessTransport(routes, interceptors),
      maxBodyBytes: config.http.maxBodyBytes,
    }),
    createDocsRoute(),
  ];

  const calls = new WeakMap<NodeRequest, CallContext>();
  const adapter = connectNodeAdapter({
    routes,
    interceptors,
    contextValues: (req) => createContextValues().set(CALL_CONTEXT, calls.get(req)),
    readMaxBytes: config.http.maxBodyBytes,
    requestGate: runtimeErrorGate,
    fallback: (req, res) => {
      const call = calls.get(req);
      void serveHttpRoute(req, res, call?.requestId ?? "");
    },
  });

  async function serveHttpRoute(req: NodeRequest, res: NodeResponse, requestId: string) {
    try {
      for (const route of httpRoutes) if (await route(req, res, requestId)) return;
      sendNotFound(req, res, requestId);
    } catch (e) {
      logger.error("http route failed", describeError(e));
      if (!res.headersSent) sendError(res, toWireError(e), requestId);
    }
  }

  const cors = createCors(config.http.corsOrigins);
  const clientAddress = createClientAddressResolver(config.http.trustedProxies);
  let closing = false;

  const server = createServer((req, res) => {
    const requestId = acceptRequestId(req.headers["x-request-id"]);
    res.setHeader("x-request-id", requestId);
    const call: CallContext = {
      requestId,
      clientAddress: clientAddress(req.socket.remoteAddress, req.headers["x-forwarded-for"]),
      startedAt: performance.now(),
    };
    calls.set(req, call);
    if (cors(req, res)) return;
    if (closing) {
      res.setHeader("Connection", "close");
      sendError(res, wireError("SERVICE_UNAVAILABLE", "server is shutting down"), requestId);
      return;
    }
    callStorage.run(call, () => adapter(req, res));
  });

  return {
    config,
    logger,
    orm,
    keys,
    auth,
    hashLimiter,
    server,
    dbGuard,
    health,
    metrics,
    async listen() {
      const port = await server.listen(config.port, config.host);
      health.start();
      logger.info("listening", { port, host: config.host, database: config.database.kind });
      return port;
    },
    async close() {
      if (closing) return;
      closing = true;
      // First, so probes and Watch streams see NOT_SERVING before anything stops.
      health.shutdown();
      try {
        await server.close(config.resilience.shutdownTimeoutMs);
      } finally {
        // Each store closes even if another fails to.
        await Promise.allSettled([orm.close(true), limiterStore.close()]);
        logger.info("stopped");
      }
    },
  };
}
