import type { ConnectRouter } from "@connectrpc/connect";
import { createAuditLog } from "./audit/audit-log.js";
import type { Config } from "./config.js";
import { createMfaAccounts } from "./db/mfa-accounts.js";
import { createMfaChallengeRepository } from "./db/mfa-challenge-repository.js";
import { createMfaFactorRepository } from "./db/mfa-factor-repository.js";
import { createOrm, migrate } from "./db/orm.js";
import { createDbProbe } from "./db/probe.js";
import { createDbGuard, guarded } from "./db/resilience.js";
import { createSessionRepository } from "./db/session-repository.js";
import { createSessionRevoker } from "./db/session-revoker.js";
import { createSql } from "./db/sql.js";
import { createUserRepository } from "./db/user-repository.js";
import { createAuthService } from "./domain/auth-service.js";
import { combineEvents } from "./domain/events.js";
import { createMfaService } from "./domain/mfa-service.js";
import { type Clock, systemClock } from "./domain/ports.js";
import { createHealthMonitor } from "./health/health-monitor.js";
import { type Closers, createClosers } from "./lifecycle.js";
import { createLogger, describeError, type Logger } from "./logger.js";
import { createMetrics } from "./metrics/metrics.js";
import { loadMfaKeys } from "./mfa/keys.js";
import { createRecoveryCodeHasher } from "./mfa/recovery-code-hasher.js";
import { createSecretSealer } from "./mfa/secret-sealer.js";
import { createTotp } from "./mfa/totp.js";
import { createBcryptHasher, unmatchableHash } from "./passwords/bcrypt-hasher.js";
import { loadPasswordBlocklist } from "./passwords/blocklist.js";
import { createHashLimiter } from "./passwords/hash-limiter.js";
import { createAbuseGuard } from "./rate-limit/abuse-guard.js";
import { openLimiterStore } from "./rate-limit/stores.js";
import { createRoutes, type Services } from "./routes.js";
import { createAccessTokens } from "./tokens/access-tokens.js";
import { loadKeyRing } from "./tokens/keys.js";
import { registerBenchEcho } from "./transport/bench-echo.js";
import { createFront } from "./transport/front.js";
import { createHealthRoute } from "./transport/http/health-route.js";
import { createJwksRoute } from "./transport/http/jwks-route.js";
import { createMetricsRoute } from "./transport/http/metrics-route.js";
import { createServer } from "./transport/server.js";

export interface AppOptions {
  /** Where log lines go; stdout by default. Tests capture them here. */
  readonly logStream?: NodeJS.WritableStream;
  readonly clock?: Clock;
  /** More Connect routes, served like the others but not advertised by health or reflection. */
  readonly extraRoutes?: (router: ConnectRouter) => void;
}

/** A built service: what main.ts and the tests need of it, nothing more. */
export interface App {
  readonly logger: Logger;
  /**
   * The domain services behind the RPCs, for what no RPC does yet (tests
   * deactivate users through `services.auth.setActive`).
   */
  readonly services: Services;
  /** Whether the service reports SERVING (database reachable, breaker closed, not shutting down). */
  readonly health: { readonly serving: boolean };
  /** The bound port once listen() resolved; 0 before. */
  readonly port: number;
  /** Starts serving; resolves with the bound port. */
  listen(): Promise<number>;
  /** Graceful stop: refuse new calls, finish those in flight, then close everything start-up opened. */
  close(): Promise<void>;
}

/**
 * The composition root: builds every part from the config and wires them
 * together. Nothing else constructs services; nothing here is global. If
 * start-up fails halfway, whatever was already opened is closed again.
 */
export async function createApp(config: Config, opts: AppOptions = {}): Promise<App> {
  const logger = createLogger(config.logLevel, opts.logStream);
  const closers = createClosers((resource, e) => logger.error("close failed", { resource, ...describeError(e) }));
  try {
    return await wire(config, opts, logger, closers);
  } catch (e) {
    await closers.closeAll();
    throw e;
  }
}

async function wire(config: Config, opts: AppOptions, logger: Logger, closers: Closers): Promise<App> {
  const clock = opts.clock ?? systemClock;
  const orm = await createOrm(config.database, {
    poolSize: config.resilience.dbPoolSize,
    statementTimeoutMs: config.resilience.dbTimeoutMs,
  });
  closers.add("database", () => orm.close(true));
  const hashLimiter = createHashLimiter(config.password.hashConcurrency, config.password.hashQueueTimeoutMs);
  const passwords = createBcryptHasher(config.password.bcryptRounds, hashLimiter);
  // Started now, awaited after the migrations: it overlaps them.
  const blocklistLoading = loadPasswordBlocklist();
  // Independent start-up work runs side by side: schema, keys, the dummy hash.
  const [, keys, dummyHash, mfaKeys] = await Promise.all([
    migrate(orm),
    loadKeyRing({
      privateKey: config.jwt.privateKey,
      privateKeyFile: config.jwt.privateKeyFile,
      keysDir: config.jwt.keysDir,
      dataDir: config.dataDir,
      allowGenerate: config.env !== "production",
    }),
    unmatchableHash(config.password.bcryptRounds),
    loadMfaKeys({
      configured: config.mfa.encryptionKeys,
      dataDir: config.dataDir,
      allowGenerate: config.env !== "production",
    }),
  ]);
  const limiterStore = await openLimiterStore(config.rateLimit, config.database, logger);
  closers.add("rate-limit store", () => limiterStore.close());

  // Every repository call runs under one timeout and circuit breaker; the
  // health probe shares them, so it also serves as the breaker's trial call.
  const dbGuard = createDbGuard({
    timeoutMs: config.resilience.dbTimeoutMs,
    breakerThreshold: config.resilience.breakerThreshold,
    halfOpenAfterMs: config.resilience.breakerHalfOpenAfterMs,
  });
  const health = createHealthMonitor({ probe: createDbProbe(orm, config.database.kind), guard: dbGuard, logger });
  const metrics = createMetrics({ hashLimiter, breakerState: () => dbGuard.state });
  const auditLog = createAuditLog(logger);

  const sql = createSql(orm, config.database.kind);
  const events = combineEvents(auditLog, metrics.events);
  // One guard for Login and VerifyMfa: wrong codes count toward the same per-account limits.
  const loginGuard = config.rateLimit.enabled ? createAbuseGuard(config.rateLimit, limiterStore, auditLog) : undefined;
  const mfa = createMfaService({
    factors: guarded(createMfaFactorRepository(sql), dbGuard),
    challenges: guarded(createMfaChallengeRepository(sql), dbGuard),
    accounts: guarded(createMfaAccounts(sql), dbGuard),
    sessions: guarded(createSessionRevoker(sql), dbGuard),
    passwords,
    totp: createTotp({ issuer: config.mfa.issuer }),
    sealer: createSecretSealer(mfaKeys),
    recoveryCodes: createRecoveryCodeHasher(mfaKeys),
    clock,
    events,
    loginGuard,
    policy: { challengeTtlSeconds: config.mfa.challengeTtlSeconds },
  });
  const services: Services = {
    mfa,
    auth: createAuthService({
      users: guarded(createUserRepository(sql), dbGuard),
      sessions: guarded(createSessionRepository(sql), dbGuard),
      passwords,
      accessTokens: createAccessTokens(
        keys,
        { issuer: config.jwt.issuer, audience: config.jwt.audience, ttlSeconds: config.jwt.accessTtlSeconds },
        clock,
      ),
      clock,
      events,
      dummyHash,
      passwordBlocklist: await blocklistLoading,
      loginGuard,
      secondFactor: mfa,
      policy: {
        passwordMinLength: config.password.minLength,
        refreshTtlSeconds: config.jwt.refreshTtlSeconds,
        sessionMaxLifetimeSeconds: config.jwt.sessionMaxLifetimeSeconds,
        refreshReuseIntervalSeconds: config.jwt.refreshReuseIntervalSeconds,
      },
    }),
  };

  const routes = createRoutes(services, health, (router) => {
    if (config.benchEcho) registerBenchEcho(router);
    opts.extraRoutes?.(router);
  });
  const front = createFront({
    routes: routes.routes,
    restServices: routes.served,
    httpRoutes: [createJwksRoute(keys), createHealthRoute(health), createMetricsRoute(metrics.registry)],
    http: config.http,
    logger,
    onCallDone: metrics.onCallDone,
  });
  const server = createServer(front.handler);
  closers.add("server", () => server.close(config.resilience.shutdownTimeoutMs));
  // Last on the list, so first at shutdown: probes and Watch streams see
  // NOT_SERVING, and new requests are refused, before anything stops.
  closers.add("front", () => {
    front.refuseNewRequests();
    health.shutdown();
  });

  let port = 0;
  let closed: Promise<void> | undefined;
  return {
    logger,
    services,
    health,
    get port() {
      return port;
    },
    async listen() {
      port = await server.listen(config.port, config.host);
      health.start();
      logger.info("listening", { port, host: config.host, database: config.database.kind });
      return port;
    },
    close() {
      closed ??= closers.closeAll().then(() => {
        logger.info("stopped");
      });
      return closed;
    },
  };
}
