import { resolve } from "node:path";
import { z } from "zod";

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
  JWT_ISSUER: z.string().min(1).default("warden"),
  JWT_AUDIENCE: z.string().min(1).default("warden"),
  ACCESS_TOKEN_TTL: int(30, 86_400).default(1800),
  REFRESH_TOKEN_TTL: int(60, 31_536_000).default(604_800),
  REFRESH_REUSE_INTERVAL: int(0, 300).default(10),
  SESSION_MAX_LIFETIME: int(60, 31_536_000).default(2_592_000),

  PASSWORD_MIN_LENGTH: int(8, 256).default(12),
  BCRYPT_ROUNDS: int(4, 15).default(12),
  BCRYPT_CONCURRENCY: int(1, 64).default(2),
  BCRYPT_QUEUE_TIMEOUT_MS: int(100, 60_000).default(5000),

  DB_TIMEOUT_MS: int(50, 60_000).default(2000),
  DB_POOL_SIZE: int(1, 100).default(10),
  BREAKER_THRESHOLD: int(1, 1000).default(5),
  BREAKER_HALF_OPEN_AFTER_MS: int(100, 600_000).default(5000),
  SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(10_000),
  MAX_BODY_BYTES: int(1024, 10_485_760).default(65_536),

  CORS_ORIGINS: csv.default(["http://localhost:3000", "http://localhost:8000"]),
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
});

type Env = z.infer<typeof envSchema>;

export type DatabaseConfig =
  | { readonly kind: "sqlite"; readonly path: string }
  | { readonly kind: "postgresql"; readonly url: string };

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
  };
  readonly password: {
    readonly minLength: number;
    readonly bcryptRounds: number;
    readonly hashConcurrency: number;
    readonly hashQueueTimeoutMs: number;
  };
  readonly resilience: {
    readonly dbTimeoutMs: number;
    readonly dbPoolSize: number;
    readonly breakerThreshold: number;
    readonly breakerHalfOpenAfterMs: number;
    readonly shutdownTimeoutMs: number;
  };
  readonly http: {
    readonly maxBodyBytes: number;
    readonly corsOrigins: readonly string[];
    readonly trustedProxies: readonly string[];
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
  };
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
  if (e.LOGIN_ACCOUNT_FREE_FAILURES > e.LOGIN_ACCOUNT_MAX_FAILURES) {
    throw new ConfigError("LOGIN_ACCOUNT_FREE_FAILURES: must not exceed LOGIN_ACCOUNT_MAX_FAILURES");
  }
  if (e.RATE_LIMIT_STORE === "redis" && !e.REDIS_URL) {
    throw new ConfigError("REDIS_URL: must be set when RATE_LIMIT_STORE=redis");
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
    },
    password: {
      minLength: e.PASSWORD_MIN_LENGTH,
      bcryptRounds: e.BCRYPT_ROUNDS,
      hashConcurrency: e.BCRYPT_CONCURRENCY,
      hashQueueTimeoutMs: e.BCRYPT_QUEUE_TIMEOUT_MS,
    },
    resilience: {
      dbTimeoutMs: e.DB_TIMEOUT_MS,
      dbPoolSize: e.DB_POOL_SIZE,
      breakerThreshold: e.BREAKER_THRESHOLD,
      breakerHalfOpenAfterMs: e.BREAKER_HALF_OPEN_AFTER_MS,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    },
    http: {
      maxBodyBytes: e.MAX_BODY_BYTES,
      corsOrigins: e.CORS_ORIGINS,
      trustedProxies: e.TRUSTED_PROXIES,
    },
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
    },
  };
  return deepFreeze(config);
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
