import { resolve } from "node:path";
import { z } from "zod";
import { MfaKeyError, parseMfaKeys } from "./mfa/keys.js";

/**
 * Every setting of the service, read from the environment once at start.
 * Nothing else in the code base reads `process.env`; the parsed object is
 * frozen and handed down as an argument.
 *
 * `.env.example` documents each variable; keep the two in step.
 */

const int = (min: number, max: number) => z.coerce.number().int(`must be a whole number`).min(min).max(max);

const bool = z
  .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
  .transform((v) => v === "true" || v === "1" || v === "yes");

const csv = z.string().transform((v) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0),
);

/** Development defaults that a production deployment should replace (warned about at start). */
export const DEFAULT_CORS_ORIGINS: readonly string[] = ["http://localhost:3000", "http://localhost:8000"];
export const DEFAULT_TOKEN_NAME = "warden";

const httpUrl = z
  .string()
  .refine((v) => /^https?:$/.test(URL.parse(v)?.protocol ?? ""), "must be an http:// or https:// URL");

const otlpProtocol = z
  .enum(["http/protobuf", "http/json", "grpc"], { message: "must be http/protobuf or http/json" })
  .refine((v) => v !== "grpc", "grpc is not supported: use http/protobuf or http/json");

/**
 * `key=value,key2=value2` with percent-encoded values (the W3C Baggage format
 * the OTel specification uses). The message never quotes the value: it may
 * hold a collector's API key.
 */
const otlpHeaders = z.string().transform((v, ctx) => {
  const headers: Record<string, string> = {};
  for (const pair of v.split(",")) {
    if (pair.trim() === "") continue;
    const eq = pair.indexOf("=");
    const key = eq > 0 ? pair.slice(0, eq).trim() : "";
    let value: string | undefined;
    try {
      value = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      value = undefined;
    }
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(key) || value === undefined) {
      ctx.addIssue({ code: "custom", message: "must be key=value pairs separated by commas" });
      return z.NEVER;
    }
    headers[key.toLowerCase()] = value;
  }
  return headers;
});
/** `addr@host` or `Name <addr@host>` (the forms MAIL_FROM documents). */
const MAIL_FROM_SHAPE = /^(?:[^<>@\r\n]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/;

/** An http(s) link with a `{token}` placeholder. */
const linkTemplate = z
  .string()
  .regex(/^https?:\/\/\S+$/, "must be an http:// or https:// URL")
  .refine((v) => v.includes("{token}"), "must contain {token}");

const envSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
  HOST: z.string().min(1).default("0.0.0.0"),
  PORT: int(0, 65535).default(8080),
  DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: z
    .string()
    .regex(/^(postgres(ql)?:\/\/|sqlite:)/, "must start with postgresql:// or sqlite:")
    .optional(),
  LOG_LEVEL: z.enum(["error", "warn", "info", "http", "verbose", "debug", "silly"]).default("info"),

  JWT_PRIVATE_KEY: z.string().min(1).optional(),
  JWT_PRIVATE_KEY_FILE: z.string().min(1).optional(),
  JWT_KEYS_DIR: z.string().min(1).optional(),
  JWT_ISSUER: z.string().min(1).default(DEFAULT_TOKEN_NAME),
  JWT_AUDIENCE: z.string().min(1).default(DEFAULT_TOKEN_NAME),
  ACCESS_TOKEN_TTL: int(30, 86_400).default(1800),
  REFRESH_TOKEN_TTL: int(60, 31_536_000).default(604_800),
  REFRESH_REUSE_INTERVAL: int(0, 300).default(10),
  SESSION_MAX_LIFETIME: int(60, 31_536_000).default(2_592_000),
  SESSION_PURGE_INTERVAL: int(0, 86_400).default(60),

  PASSWORD_MIN_LENGTH: int(8, 256).default(12),
  PASSWORD_MIN_SCORE: int(0, 4).default(3),
  BCRYPT_ROUNDS: int(4, 15).default(12),
  BCRYPT_CONCURRENCY: int(1, 64).default(2),
  BCRYPT_QUEUE_TIMEOUT_MS: int(100, 60_000).default(5000),
  BCRYPT_QUEUE_MAX: int(0, 100_000).default(50),

  DB_TIMEOUT_MS: int(50, 60_000).default(2000),
  DB_POOL_SIZE: int(1, 100).default(10),
  DB_PREPARED_STATEMENTS: bool.default(true),
  BREAKER_THRESHOLD: int(1, 1000).default(5),
  BREAKER_HALF_OPEN_AFTER_MS: int(100, 600_000).default(5000),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  MAX_BODY_BYTES: int(1024, 10_485_760).default(65_536),
  HTTP_MAX_CONNECTIONS: int(1, 1_000_000).default(1000),
  HTTP_MAX_CONNECTIONS_PER_CLIENT: int(1, 1_000_000).default(100),
  HTTP2_MAX_CONCURRENT_STREAMS: int(1, 10_000).default(100),
  HTTP_HEADERS_TIMEOUT_MS: int(100, 600_000).default(10_000),
  HTTP_REQUEST_TIMEOUT_MS: int(100, 3_600_000).default(30_000),
  HTTP_IDLE_TIMEOUT_MS: int(100, 86_400_000).default(120_000),
  HEALTH_WATCH_MAX: int(0, 1_000_000).default(1000),
  HEALTH_WATCH_MAX_PER_CLIENT: int(0, 1_000_000).default(20),
  METRICS_PORT: int(0, 65535).optional(),

  CORS_ORIGINS: csv.default([...DEFAULT_CORS_ORIGINS]),
  TRUSTED_PROXIES: csv.default([]),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, "must start with redis:// or rediss://")
    .optional(),
  RATE_LIMIT_STORE: z.enum(["memory", "database", "redis"]).optional(),
  RATE_LIMIT_ENABLED: bool.default(true),
  LOGIN_ACCOUNT_FREE_FAILURES: int(1, 100).default(5),
  LOGIN_ACCOUNT_MAX_FAILURES: int(1, 100).default(20),
  LOGIN_ACCOUNT_BLOCK_SECONDS: int(1, 86_400).default(900),
  LOGIN_ADDRESS_LIMIT: int(1, 1_000_000).default(150),
  LOGIN_ADDRESS_WINDOW_SECONDS: int(1, 86_400).default(300),
  REGISTER_ADDRESS_LIMIT: int(1, 1_000_000).default(30),
  REGISTER_ADDRESS_WINDOW_SECONDS: int(1, 86_400).default(300),
  REGISTER_GLOBAL_LIMIT: int(1, 100_000_000).default(600),
  REGISTER_GLOBAL_WINDOW_SECONDS: int(1, 86_400).default(60),

  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^/?#]+/, "must be smtp://[user:pass@]host[:port] or smtps://…")
    .optional(),
  MAIL_FROM: z
    .string()
    .regex(MAIL_FROM_SHAPE, "must be an e-mail address or Name <address>")
    .default("warden <no-reply@localhost>"),
  PASSWORD_RESET_URL: linkTemplate.default("http://localhost:8000/reset-password.html?token={token}"),
  EMAIL_VERIFICATION_URL: linkTemplate.default("http://localhost:8000/verify-email.html?token={token}"),
  RESET_TOKEN_TTL: int(300, 86_400).default(3600),
  VERIFY_TOKEN_TTL: int(300, 604_800).default(86_400),
  MAIL_ACCOUNT_LIMIT: int(1, 1000).default(3),
  MAIL_ACCOUNT_WINDOW_SECONDS: int(1, 86_400).default(3600),
  MAIL_ADDRESS_LIMIT: int(1, 1_000_000).default(20),
  MAIL_ADDRESS_WINDOW_SECONDS: int(1, 86_400).default(900),
  MAIL_POLL_INTERVAL_MS: int(50, 600_000).default(5000),
  MAIL_RETRY_BASE_MS: int(10, 600_000).default(5000),
  MAIL_MAX_ATTEMPTS: int(1, 100).default(10),
  MAIL_MAX_AGE_SECONDS: int(1, 604_800).default(3600),
  TOTP_ISSUER: z.string().min(1).max(64).default("warden"),
  MFA_CHALLENGE_TTL: int(30, 300).default(300),
  MFA_ENCRYPTION_KEYS: z.string().min(1).optional(),

  // OpenTelemetry tracing: the standard variables of the OTel specification,
  // read here like every other setting (the exporters get them as options).
  OTEL_SDK_DISABLED: bool.default(false),
  OTEL_TRACES_EXPORTER: z.enum(["otlp", "none"], { message: "must be otlp or none" }).default("otlp"),
  OTEL_SERVICE_NAME: z.string().min(1).default("warden"),
  OTEL_EXPORTER_OTLP_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: httpUrl.optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol.optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: otlpProtocol.optional(),
  OTEL_EXPORTER_OTLP_HEADERS: otlpHeaders.optional(),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: otlpHeaders.optional(),
  OTEL_EXPORTER_OTLP_TIMEOUT: int(1, 600_000).optional(),
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: int(1, 600_000).optional(),
  OTEL_TRACES_SAMPLER: z
    .enum(
      [
        "always_on",
        "always_off",
        "traceidratio",
        "parentbased_always_on",
        "parentbased_always_off",
        "parentbased_traceidratio",
      ],
      { message: "must be always_on, always_off, traceidratio or parentbased_(always_on|always_off|traceidratio)" },
    )
    .default("parentbased_always_on"),
  OTEL_TRACES_SAMPLER_ARG: z.coerce.number().min(0).max(1).optional(),
  OTEL_BSP_SCHEDULE_DELAY: int(1, 600_000).default(5000),
  OTEL_BSP_EXPORT_TIMEOUT: int(1, 600_000).default(30_000),
  OTEL_BSP_MAX_QUEUE_SIZE: int(1, 1_000_000).default(2048),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: int(1, 1_000_000).default(512),
});

type Env = z.infer<typeof envSchema>;

export type DatabaseConfig =
  | { readonly kind: "sqlite"; readonly path: string }
  | { readonly kind: "postgresql"; readonly url: string };

/** How the root spans of new traces are sampled (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG). */
export interface SamplerConfig {
  /** Whether a span with a parent follows the parent's sampling decision. */
  readonly parentBased: boolean;
  /** The share of new traces recorded: 1 always, 0 never. */
  readonly ratio: number;
}

/** Where and how spans are exported: OTLP over HTTP, by the OTEL_EXPORTER_OTLP_* variables. */
export interface OtlpExportConfig {
  /** The full URL spans are POSTed to (…/v1/traces). */
  readonly url: string;
  readonly protocol: "http/protobuf" | "http/json";
  /** Extra request headers, typically a collector's API key: never logged. */
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

export interface TracingConfig {
  /** Undefined when no endpoint is set, OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none: no tracing at all. */
  readonly export?: OtlpExportConfig;
  readonly serviceName: string;
  readonly sampler: SamplerConfig;
  /** The batch span processor (OTEL_BSP_*): its queue is bounded, spans beyond it are dropped. */
  readonly batch: {
    readonly scheduledDelayMs: number;
    readonly exportTimeoutMs: number;
    readonly maxQueueSize: number;
    readonly maxExportBatchSize: number;
  };
}

export interface Config {
  readonly env: Env["NODE_ENV"];
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly database: DatabaseConfig;
  readonly logLevel: Env["LOG_LEVEL"];
  readonly jwt: {
    readonly privateKey?: string;
    readonly privateKeyFile?: string;
    readonly keysDir?: string;
    readonly issuer: string;
    readonly audience: string;
    readonly accessTtlSeconds: number;
    readonly refreshTtlSeconds: number;
    readonly refreshReuseIntervalSeconds: number;
    readonly sessionMaxLifetimeSeconds: number;
    /** Seconds between runs of the purge of expired seals, refresh tokens and ended sessions; 0: never. */
    readonly sessionPurgeIntervalSeconds: number;
  };
  readonly password: {
    readonly minLength: number;
    /** Lowest zxcvbn score (0–4) a new password may have; 0 turns the estimate off. */
    readonly minScore: number;
    readonly bcryptRounds: number;
    readonly hashConcurrency: number;
    readonly hashQueueTimeoutMs: number;
    /** Hashes that may wait for a slot; past it a call is refused at once (0: none wait). */
    readonly hashQueueMax: number;
  };
  readonly resilience: {
    readonly dbTimeoutMs: number;
    readonly dbPoolSize: number;
    /** PostgreSQL: the hot queries as named prepared statements (off behind a pooler that cannot keep them). */
    readonly dbPreparedStatements: boolean;
    readonly breakerThreshold: number;
    readonly breakerHalfOpenAfterMs: number;
    readonly shutdownTimeoutMs: number;
  };
  readonly http: {
    readonly maxBodyBytes: number;
    readonly corsOrigins: readonly string[];
    readonly trustedProxies: readonly string[];
    /** Open TCP connections, all clients together; more are dropped as they arrive. */
    readonly maxConnections: number;
    /** Open TCP connections of one client (IPv4 address or IPv6 /64); trusted proxies are exempt. */
    readonly maxConnectionsPerClient: number;
    /** SETTINGS_MAX_CONCURRENT_STREAMS advertised to every HTTP/2 client. */
    readonly maxConcurrentStreams: number;
    /** Time to receive a request's headers (HTTP/1.1; HTTP/2: a new connection's first request). */
    readonly headersTimeoutMs: number;
    /** Time to receive a whole request, headers and body. */
    readonly requestTimeoutMs: number;
    /** An HTTP/2 connection with no open stream is closed after this long. */
    readonly idleTimeoutMs: number;
    /** A separate port for GET /metrics; when set, the main port does not serve it. */
    readonly metricsPort?: number;
  };
  readonly healthWatch: {
    /** Open grpc.health.v1.Health/Watch streams, all clients together. */
    readonly max: number;
    /** Open Watch streams of one client (IPv4 address or IPv6 /64). */
    readonly maxPerClient: number;
  };
  readonly rateLimit: {
    readonly enabled: boolean;
    readonly store: "memory" | "database" | "redis";
    readonly redisUrl?: string;
    readonly accountFreeFailures: number;
    readonly accountMaxFailures: number;
    readonly accountBlockSeconds: number;
    readonly loginAddressLimit: number;
    readonly loginAddressWindowSeconds: number;
    readonly registerAddressLimit: number;
    readonly registerAddressWindowSeconds: number;
    /** Registrations of all clients together per window (ASVS 6.3.8: bounds enumeration by Register). */
    readonly registerGlobalLimit: number;
    readonly registerGlobalWindowSeconds: number;
  };
  /** The account lifecycle's mail: transport, links, token lifetimes, limits, dispatcher. */
  readonly mail: {
    /** Unset: .eml files under DATA_DIR/mail outside production; nothing sent (a warning) in production. */
    readonly smtpUrl?: string;
    readonly from: string;
    readonly passwordResetUrl: string;
    readonly emailVerificationUrl: string;
    readonly resetTokenTtlSeconds: number;
    readonly verifyTokenTtlSeconds: number;
    /** Messages of one kind per account per window; further requests are dropped silently. */
    readonly accountLimit: number;
    readonly accountWindowSeconds: number;
    /** Mail-sending calls per client address per window (RATE_LIMITED beyond). */
    readonly addressLimit: number;
    readonly addressWindowSeconds: number;
    readonly pollIntervalMs: number;
    readonly retryBaseMs: number;
    readonly maxAttempts: number;
    readonly maxAgeSeconds: number;
  };
  readonly mfa: {
    /** Issuer in the otpauth:// URI (what authenticator apps show). */
    readonly issuer: string;
    /** Lifetime of a login challenge, seconds. */
    readonly challengeTtlSeconds: number;
    /** `kid:base64key,...`, validated; decoded by src/mfa/keys.ts. Unset: a development key in DATA_DIR. */
    readonly encryptionKeys?: string;
  };
  /** OpenTelemetry tracing, from the standard OTEL_* variables. */
  readonly tracing: TracingConfig;
}

/** Raised for any invalid setting; the message names the variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/**
 * Parses and validates the environment. Throws a {@link ConfigError} whose
 * message names every bad variable; never returns a half-valid config.
 */
export function loadConfig(source: NodeJS.ProcessEnv | Record<string, string | undefined>): Config {
  // An empty variable means "not set", as in most twelve-factor tools.
  const present = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join("\n  ")}`);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === "production";
  if (production && !e.DATABASE_URL) {
    throw new ConfigError("DATABASE_URL: must be set when NODE_ENV=production");
  }
  if (production && !e.JWT_PRIVATE_KEY && !e.JWT_PRIVATE_KEY_FILE && !e.JWT_KEYS_DIR) {
    throw new ConfigError(
      "JWT_PRIVATE_KEY: a signing key (JWT_PRIVATE_KEY, JWT_PRIVATE_KEY_FILE or JWT_KEYS_DIR) must be set when NODE_ENV=production",
    );
  }
  if (production && !e.MFA_ENCRYPTION_KEYS) {
    throw new ConfigError(
      "MFA_ENCRYPTION_KEYS: a key for second-factor secrets (kid:base64 of 32 bytes) must be set when NODE_ENV=production",
    );
  }
  if (e.MFA_ENCRYPTION_KEYS) {
    try {
      parseMfaKeys(e.MFA_ENCRYPTION_KEYS);
    } catch (err) {
      if (err instanceof MfaKeyError) throw new ConfigError(err.message);
      throw err;
    }
  }
  if (e.LOGIN_ACCOUNT_FREE_FAILURES > e.LOGIN_ACCOUNT_MAX_FAILURES) {
    throw new ConfigError("LOGIN_ACCOUNT_FREE_FAILURES: must not exceed LOGIN_ACCOUNT_MAX_FAILURES");
  }
  if (production && !e.RATE_LIMIT_ENABLED) {
    throw new ConfigError("RATE_LIMIT_ENABLED: must not be false when NODE_ENV=production");
  }
  if (e.HTTP_HEADERS_TIMEOUT_MS > e.HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigError("HTTP_HEADERS_TIMEOUT_MS: must not exceed HTTP_REQUEST_TIMEOUT_MS");
  }
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT !== 0 && e.METRICS_PORT === e.PORT) {
    throw new ConfigError("METRICS_PORT: must differ from PORT");
  }
  if (e.RATE_LIMIT_STORE === "redis" && !e.REDIS_URL) {
    throw new ConfigError("REDIS_URL: must be set when RATE_LIMIT_STORE=redis");
  }

  if (e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE > e.OTEL_BSP_MAX_QUEUE_SIZE) {
    throw new ConfigError("OTEL_BSP_MAX_EXPORT_BATCH_SIZE: must not exceed OTEL_BSP_MAX_QUEUE_SIZE");
  }
  if (production && e.SMTP_URL) {
    // Mail that really goes out must not point at localhost or come from it.
    for (const name of ["MAIL_FROM", "PASSWORD_RESET_URL", "EMAIL_VERIFICATION_URL"] as const) {
      if (!present[name]) throw new ConfigError(`${name}: must be set when SMTP_URL is set and NODE_ENV=production`);
    }
  }

  const dataDir = resolve(e.DATA_DIR);
  const database: DatabaseConfig = !e.DATABASE_URL
    ? { kind: "sqlite", path: resolve(dataDir, "warden.sqlite") }
    : e.DATABASE_URL.startsWith("sqlite:")
      ? { kind: "sqlite", path: sqlitePath(e.DATABASE_URL) }
      : { kind: "postgresql", url: e.DATABASE_URL };

  const config: Config = {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    dataDir,
    database,
    logLevel: e.LOG_LEVEL,
    jwt: {
      privateKey: e.JWT_PRIVATE_KEY,
      privateKeyFile: e.JWT_PRIVATE_KEY_FILE,
      keysDir: e.JWT_KEYS_DIR,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      accessTtlSeconds: e.ACCESS_TOKEN_TTL,
      refreshTtlSeconds: e.REFRESH_TOKEN_TTL,
      refreshReuseIntervalSeconds: e.REFRESH_REUSE_INTERVAL,
      sessionMaxLifetimeSeconds: e.SESSION_MAX_LIFETIME,
      sessionPurgeIntervalSeconds: e.SESSION_PURGE_INTERVAL,
    },
    password: {
      minLength: e.PASSWORD_MIN_LENGTH,
      minScore: e.PASSWORD_MIN_SCORE,
      bcryptRounds: e.BCRYPT_ROUNDS,
      hashConcurrency: e.BCRYPT_CONCURRENCY,
      hashQueueTimeoutMs: e.BCRYPT_QUEUE_TIMEOUT_MS,
      hashQueueMax: e.BCRYPT_QUEUE_MAX,
    },
    resilience: {
      dbTimeoutMs: e.DB_TIMEOUT_MS,
      dbPoolSize: e.DB_POOL_SIZE,
      dbPreparedStatements: e.DB_PREPARED_STATEMENTS,
      breakerThreshold: e.BREAKER_THRESHOLD,
      breakerHalfOpenAfterMs: e.BREAKER_HALF_OPEN_AFTER_MS,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    },
    http: {
      maxBodyBytes: e.MAX_BODY_BYTES,
      corsOrigins: e.CORS_ORIGINS,
      trustedProxies: e.TRUSTED_PROXIES,
      maxConnections: e.HTTP_MAX_CONNECTIONS,
      maxConnectionsPerClient: e.HTTP_MAX_CONNECTIONS_PER_CLIENT,
      maxConcurrentStreams: e.HTTP2_MAX_CONCURRENT_STREAMS,
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      idleTimeoutMs: e.HTTP_IDLE_TIMEOUT_MS,
      metricsPort: e.METRICS_PORT,
    },
    healthWatch: { max: e.HEALTH_WATCH_MAX, maxPerClient: e.HEALTH_WATCH_MAX_PER_CLIENT },
    rateLimit: {
      enabled: e.RATE_LIMIT_ENABLED,
      store: e.RATE_LIMIT_STORE ?? (e.REDIS_URL ? "redis" : "memory"),
      redisUrl: e.REDIS_URL,
      accountFreeFailures: e.LOGIN_ACCOUNT_FREE_FAILURES,
      accountMaxFailures: e.LOGIN_ACCOUNT_MAX_FAILURES,
      accountBlockSeconds: e.LOGIN_ACCOUNT_BLOCK_SECONDS,
      loginAddressLimit: e.LOGIN_ADDRESS_LIMIT,
      loginAddressWindowSeconds: e.LOGIN_ADDRESS_WINDOW_SECONDS,
      registerAddressLimit: e.REGISTER_ADDRESS_LIMIT,
      registerAddressWindowSeconds: e.REGISTER_ADDRESS_WINDOW_SECONDS,
      registerGlobalLimit: e.REGISTER_GLOBAL_LIMIT,
      registerGlobalWindowSeconds: e.REGISTER_GLOBAL_WINDOW_SECONDS,
    },
    mail: {
      smtpUrl: e.SMTP_URL,
      from: e.MAIL_FROM,
      passwordResetUrl: e.PASSWORD_RESET_URL,
      emailVerificationUrl: e.EMAIL_VERIFICATION_URL,
      resetTokenTtlSeconds: e.RESET_TOKEN_TTL,
      verifyTokenTtlSeconds: e.VERIFY_TOKEN_TTL,
      accountLimit: e.MAIL_ACCOUNT_LIMIT,
      accountWindowSeconds: e.MAIL_ACCOUNT_WINDOW_SECONDS,
      addressLimit: e.MAIL_ADDRESS_LIMIT,
      addressWindowSeconds: e.MAIL_ADDRESS_WINDOW_SECONDS,
      pollIntervalMs: e.MAIL_POLL_INTERVAL_MS,
      retryBaseMs: e.MAIL_RETRY_BASE_MS,
      maxAttempts: e.MAIL_MAX_ATTEMPTS,
      maxAgeSeconds: e.MAIL_MAX_AGE_SECONDS,
    },
    mfa: {
      issuer: e.TOTP_ISSUER,
      challengeTtlSeconds: e.MFA_CHALLENGE_TTL,
      encryptionKeys: e.MFA_ENCRYPTION_KEYS,
    },
    tracing: {
      export: otlpExport(e),
      serviceName: e.OTEL_SERVICE_NAME,
      sampler: {
        parentBased: e.OTEL_TRACES_SAMPLER.startsWith("parentbased_"),
        ratio: e.OTEL_TRACES_SAMPLER.endsWith("always_off")
          ? 0
          : e.OTEL_TRACES_SAMPLER.endsWith("traceidratio")
            ? (e.OTEL_TRACES_SAMPLER_ARG ?? 1)
            : 1,
      },
      batch: {
        scheduledDelayMs: e.OTEL_BSP_SCHEDULE_DELAY,
        exportTimeoutMs: e.OTEL_BSP_EXPORT_TIMEOUT,
        maxQueueSize: e.OTEL_BSP_MAX_QUEUE_SIZE,
        maxExportBatchSize: e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
      },
    },
  };
  return deepFreeze(config);
}

/**
 * The OTLP export, as the OTel specification resolves it: the signal's own
 * variable first, then the general one. A general endpoint gets `v1/traces`
 * appended; a traces endpoint is used as it is. No endpoint: no export.
 */
function otlpExport(e: Env): OtlpExportConfig | undefined {
  if (e.OTEL_SDK_DISABLED || e.OTEL_TRACES_EXPORTER === "none") return undefined;
  const url =
    e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (e.OTEL_EXPORTER_OTLP_ENDPOINT && `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/?$/, "/")}v1/traces`);
  if (!url) return undefined;
  const protocol = e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf";
  return {
    url,
    protocol: protocol === "http/json" ? "http/json" : "http/protobuf",
    headers: { ...e.OTEL_EXPORTER_OTLP_HEADERS, ...e.OTEL_EXPORTER_OTLP_TRACES_HEADERS },
    timeoutMs: e.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? e.OTEL_EXPORTER_OTLP_TIMEOUT ?? 10_000,
  };
}

function sqlitePath(url: string): string {
  const rest = url.slice("sqlite:".length).replace(/^\/\//, "");
  if (rest === ":memory:") return rest;
  if (rest.length === 0) throw new ConfigError("DATABASE_URL: sqlite: needs a file path");
  return resolve(rest);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
