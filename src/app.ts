import { dirname } from "node:path";
import type { ConnectRouter } from "@connectrpc/connect";
import type { SpanProcessor } from "@opentelemetry/sdk-trace";
import { createAuditLog } from "./audit/audit-log.js";
import type { Config } from "./config.js";
import { productionWarnings } from "./config-warnings.js";
import { createAccountRepository } from "./db/account-repository.js";
import { createMfaAccounts } from "./db/mfa-accounts.js";
import { createMfaChallengeRepository } from "./db/mfa-challenge-repository.js";
import { createMfaFactorRepository } from "./db/mfa-factor-repository.js";
import { createOrm, migrate } from "./db/orm.js";
import { createDbProbe } from "./db/probe.js";
import { createDbGuard, guarded } from "./db/resilience.js";
import { type PurgeJob, startSessionPurge } from "./db/session-purge.js";
import { createSessionRepository } from "./db/session-repository.js";
import { createSql } from "./db/sql.js";
import { createUserRepository } from "./db/user-repository.js";
import { createAccountService } from "./domain/account-service.js";
import { createAdminService } from "./domain/admin-service.js";
import { createAuthService } from "./domain/auth-service.js";
import { combineEvents } from "./domain/events.js";
import { createMfaService } from "./domain/mfa-service.js";
import { createPageTokens } from "./domain/page-tokens.js";
import { type Clock, systemClock } from "./domain/ports.js";
import { createSuccessorSeal } from "./domain/refresh-tokens.js";
import { createTokenChecks } from "./domain/token-checks.js";
import { createHealthMonitor } from "./health/health-monitor.js";
import { createWatchLimiter } from "./health/watch-limiter.js";
import { type Closers, createClosers } from "./lifecycle.js";
import { createLogger, describeError, type Logger } from "./logger.js";
import { createMailSystem } from "./mail/setup.js";
import { createMetrics } from "./metrics/metrics.js";
import { loadMfaKeys } from "./mfa/keys.js";
import { createRecoveryCodeHasher } from "./mfa/recovery-code-hasher.js";
import { createSecretSealer } from "./mfa/secret-sealer.js";
import { createTotp } from "./mfa/totp.js";
import { createBcryptHasher, unmatchableHash } from "./passwords/bcrypt-hasher.js";
import { createHashLimiter } from "./passwords/hash-limiter.js";
import { createPasswordPolicy } from "./passwords/password-policy.js";
import { startStrengthEstimator } from "./passwords/strength-estimator.js";
import { createAbuseGuard } from "./rate-limit/abuse-guard.js";
import { createMailRequestLimiter } from "./rate-limit/mail-limits.js";
import { openLimiterStore } from "./rate-limit/stores.js";
import { createRoutes, type Services } from "./routes.js";
import { makePrivateDir, restrictFiles } from "./storage/private-files.js";
import { createAccessTokens } from "./tokens/access-tokens.js";
import { loadKeyRing } from "./tokens/keys.js";
import { derivePageTokenKey } from "./tokens/page-token-key.js";
import { createTracing } from "./tracing/tracing.js";
import { trustedPeerCheck } from "./transport/client-address.js";
import { createFront } from "./transport/front.js";
import { createForwardAuthRoute } from "./transport/http/forward-auth-route.js";
import { createHealthRoute } from "./transport/http/health-route.js";
import { createJwksRoute } from "./transport/http/jwks-route.js";
import { createMetricsRoute } from "./transport/http/metrics-route.js";
import { createMetricsServer } from "./transport/http/metrics-server.js";
import { createServer, type ServerLimits } from "./transport/server.js";

export interface AppOptions {
  /** Where log lines go; stdout by default. Tests capture them here. */
  readonly logStream?: NodeJS.WritableStream;
  readonly clock?: Clock;
  /** More Connect routes, served like the others but not advertised by health or reflection. */
  readonly extraRoutes?: (router: ConnectRouter) => void;
  /**
   * Tests only: where spans go instead of the OTLP exporter (an in-memory
   * exporter behind a SimpleSpanProcessor). Turns tracing on without an
   * endpoint; the OTEL_* sampler and service name still apply.
   */
  readonly spanProcessor?: SpanProcessor;
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
  /** Where GET /metrics is served when METRICS_PORT is set (once listening); undefined otherwise. */
  readonly metricsPort: number | undefined;
  /** Open TCP connections on the main port (what the connection limits count). */
  readonly connections: number;
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
  for (const w of productionWarnings(config)) logger.warn(w.message, { setting: w.setting });
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
  // First on the list, so last at shutdown: the spans of the calls drained
  // and of the last database work are ended before the final export.
  // Undefined unless OTEL_* configure an endpoint: then nothing traces.
  const tracing = await createTracing(config.tracing, {
    spanProcessor: opts.spanProcessor,
    shutdownGraceMs: config.resilience.shutdownTimeoutMs,
    onExportChange: (e) =>
      e ? logger.warn("trace export failing", describeError(e)) : logger.info("trace export recovered"),
  });
  if (tracing) closers.add("tracing", () => tracing.shutdown());
  // The SQLite file holds password hashes and token digests: its folder is the owner's alone.
  const sqliteFile =
    config.database.kind === "sqlite" && config.database.path !== ":memory:" ? config.database.path : "";
  if (sqliteFile) await makePrivateDir(dirname(sqliteFile));
  const orm = await createOrm(config.database, {
    poolSize: config.resilience.dbPoolSize,
    statementTimeoutMs: config.resilience.dbTimeoutMs,
    namedStatements: config.resilience.dbPreparedStatements,
  });
  closers.add("database", () => orm.close(true));
  const hashLimiter = createHashLimiter(
    config.password.hashConcurrency,
    config.password.hashQueueTimeoutMs,
    config.password.hashQueueMax,
  );
  const passwords = createBcryptHasher(config.password.bcryptRounds, hashLimiter, tracing);
  // Its thread (and ~45 MiB of dictionaries) starts with the first password
  // to judge and ends when none came for a minute (strength-estimator.ts).
  const estimator = config.password.minScore > 0 ? startStrengthEstimator() : undefined;
  if (estimator) closers.add("password strength estimator", () => estimator.close());
  // Independent start-up work runs side by side: schema, keys, the dummy hash.
  const [, keys, dummyHash, mfaKeys] = await Promise.all([
    migrate(orm),
    loadKeyRing({
      privateKey: config.jwt.privateKey,
      privateKeyFile: config.jwt.privateKeyFile,
      keysDir: config.jwt.keysDir,
      dataDir: config.dataDir,
      allowGenerate: config.env !== "production",
      strictFileModes: config.env === "production",
      warn: (message) => logger.warn(message),
    }),
    unmatchableHash(config.password.bcryptRounds),
    loadMfaKeys({
      configured: config.mfa.encryptionKeys,
      dataDir: config.dataDir,
      allowGenerate: config.env !== "production",
    }),
    // Its code is there: a broken install fails now, not at the first Register.
    estimator?.ready,
  ]);
  // After the migrations, so the -wal and -shm files exist too (later ones inherit the file's mode).
  if (sqliteFile) await restrictFiles([sqliteFile, `${sqliteFile}-wal`, `${sqliteFile}-shm`]);
  const limiterStore = await openLimiterStore(config.rateLimit, config.database, logger);
  closers.add("rate-limit store", () => limiterStore.close());

  // Every repository call runs under one timeout and circuit breaker; the
  // health probe shares them, so it also serves as the breaker's trial call.
  const dbGuard = createDbGuard({
    timeoutMs: config.resilience.dbTimeoutMs,
    breakerThreshold: config.resilience.breakerThreshold,
    halfOpenAfterMs: config.resilience.breakerHalfOpenAfterMs,
    tracing: tracing && { tracing, dbSystem: config.database.kind },
  });
  const health = createHealthMonitor({ probe: createDbProbe(orm, config.database.kind), guard: dbGuard, logger });
  const metrics = createMetrics({ hashLimiter, breakerState: () => dbGuard.state });
  const auditLog = createAuditLog(logger);

  const sql = createSql(orm, config.database.kind);
  const users = guarded(createUserRepository(sql), dbGuard, "users");
  const sessions = guarded(createSessionRepository(sql), dbGuard, "sessions");
  const accessTokens = createAccessTokens(
    keys,
    { issuer: config.jwt.issuer, audience: config.jwt.audience, ttlSeconds: config.jwt.accessTtlSeconds },
    clock,
  );
  const events = combineEvents(auditLog, metrics.events);
  // Introspection, Envoy Check, /forward-auth and AdminService's caller check:
  // one read of session, user and roles per call, so every replica sees a
  // logout, revocation or deactivation at its next call.
  const tokenChecks = createTokenChecks({ accessTokens, sessions, clock });
  // One guard for every password check: Login's per-account limits also
  // count the current-password checks of the account calls.
  const loginGuard = config.rateLimit.enabled ? createAbuseGuard(config.rateLimit, limiterStore, auditLog) : undefined;
  const passwordPolicy = createPasswordPolicy({
    minLength: config.password.minLength,
    minScore: config.password.minScore,
    estimator,
  });
  // The outbox dispatcher sends account mail; closed after the server (calls
  // in flight may still queue mail) and before the database it marks messages in.
  const mail = createMailSystem({
    config,
    sql,
    guard: dbGuard,
    registry: metrics.registry,
    logger,
    clock,
    tracing,
  });
  closers.add("mail dispatcher", () => mail.close());
  // The same login guard as Login: wrong second-factor codes count toward the same per-account limits.
  const mfa = createMfaService({
    factors: guarded(createMfaFactorRepository(sql), dbGuard, "mfa_factors"),
    challenges: guarded(createMfaChallengeRepository(sql), dbGuard, "mfa_challenges"),
    accounts: guarded(createMfaAccounts(sql), dbGuard, "mfa_accounts"),
    sessions,
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
      users,
      sessions,
      passwords,
      accessTokens,
      clock,
      events,
      dummyHash,
      // Every replica holds the signing key, the database never does: the seal needs both it and the old token.
      successorSeal: createSuccessorSeal(keys.signing.privateKey.export({ format: "der", type: "pkcs8" })),
      passwordPolicy,
      loginGuard,
      secondFactor: mfa,
      policy: {
        refreshTtlSeconds: config.jwt.refreshTtlSeconds,
        sessionMaxLifetimeSeconds: config.jwt.sessionMaxLifetimeSeconds,
        refreshReuseIntervalSeconds: config.jwt.refreshReuseIntervalSeconds,
        accessTtlSeconds: config.jwt.accessTtlSeconds,
      },
    }),
    tokenChecks,
    admin: createAdminService({
      users,
      sessions,
      tokens: tokenChecks,
      pageTokens: createPageTokens(derivePageTokenKey(keys)),
      clock,
      events,
      // AdminService.ResetUserMfa removes the user's factor and recovery codes.
      secondFactor: mfa,
    }),
    account: createAccountService({
      accounts: guarded(createAccountRepository(sql), dbGuard, "accounts"),
      passwords,
      mail: mail.composer,
      mailSignal: mail.signal,
      clock,
      events,
      passwordPolicy,
      loginGuard,
      mailLimiter: config.rateLimit.enabled ? createMailRequestLimiter(config.mail, limiterStore, events) : undefined,
      policy: {
        resetTokenTtlSeconds: config.mail.resetTokenTtlSeconds,
        verifyTokenTtlSeconds: config.mail.verifyTokenTtlSeconds,
        accountMailLimit: config.mail.accountLimit,
        accountMailWindowSeconds: config.mail.accountWindowSeconds,
      },
    }),
  };
  let purge: PurgeJob | undefined;
  closers.add("session purge", () => purge?.stop());

  const watchLimiter = createWatchLimiter({
    max: config.healthWatch.max,
    maxPerClient: config.healthWatch.maxPerClient,
  });
  const routes = createRoutes(services, health, opts.extraRoutes, watchLimiter);
  const front = createFront({
    routes: routes.routes,
    restServices: routes.served,
    httpRoutes: [
      createJwksRoute(keys),
      createHealthRoute(health),
      // With METRICS_PORT set, metrics are served there only.
      ...(config.http.metricsPort === undefined ? [createMetricsRoute(metrics.registry)] : []),
      createForwardAuthRoute(services.tokenChecks),
    ],
    http: config.http,
    logger,
    onCallDone: metrics.onCallDone,
    tracing,
  });
  const limits: ServerLimits = {
    ...config.http,
    isTrustedPeer: trustedPeerCheck(config.http.trustedProxies),
    // Dropping is silent on the wire, so the log says it (at most once a minute per cap).
    onConnectionsRefused: (r) =>
      logger.warn("connections refused", {
        cap: r.cap === "total" ? "HTTP_MAX_CONNECTIONS" : "HTTP_MAX_CONNECTIONS_PER_CLIENT",
        client: r.client,
        refused: r.refused,
        hint: r.cap === "per_client" ? "a proxy in front of the service belongs in TRUSTED_PROXIES" : undefined,
      }),
  };
  const server = createServer(limits, front.handler);
  const metricsServer =
    config.http.metricsPort === undefined ? undefined : createMetricsServer(createMetricsRoute(metrics.registry));
  if (metricsServer) closers.add("metrics server", () => metricsServer.close());
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
    get metricsPort() {
      return metricsServer?.port;
    },
    get connections() {
      return server.connections;
    },
    async listen() {
      port = await server.listen(config.port, config.host);
      if (metricsServer && config.http.metricsPort !== undefined) {
        const metricsPort = await metricsServer.listen(config.http.metricsPort, config.host);
        logger.info("metrics listening", { port: metricsPort, host: config.host });
      }
      health.start();
      purge ??= startSessionPurge(
        () => services.auth.purgeSessions(),
        config.jwt.sessionPurgeIntervalSeconds * 1000,
        logger,
      );
      mail.start();
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
