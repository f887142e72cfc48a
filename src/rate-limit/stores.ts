import type pg from "pg";
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterPostgres,
  RateLimiterRedis,
} from "rate-limiter-flexible";
import type { Config, DatabaseConfig } from "../config.js";
import type { Logger } from "../logger.js";

/** One counter: `points` per `duration` seconds, under its own key prefix. */
export interface LimiterSpec {
  readonly prefix: string;
  readonly points: number;
  readonly duration: number;
}

/** Makes counters that live in the configured store; `close` releases its connections. */
export interface LimiterStore {
  /** Where the counters really live, after any fallback. */
  readonly kind: "memory" | "postgresql" | "redis";
  make(spec: LimiterSpec): RateLimiterAbstract;
  close(): Promise<void>;
}

/** The table every PostgreSQL counter shares (keys carry the limiter's prefix). */
export const RATE_LIMIT_TABLE = "rate_limits";
const STORE_CONNECT_TIMEOUT_MS = 3000;

/**
 * Opens the rate-limit store. `memory` counts per process; `database` with
 * PostgreSQL and `redis` share counters between replicas. `database` with
 * SQLite falls back to memory: an SQLite file serves one host, and the
 * counters are hot, short-lived writes better kept off the data file.
 *
 * A shared store that fails at run time does not fail the call: each
 * counter has an in-memory insurance limiter, so limits then hold per
 * replica until the store answers again.
 */
export async function openLimiterStore(
  rl: Config["rateLimit"],
  database: DatabaseConfig,
  logger: Logger,
): Promise<LimiterStore> {
  const memory = (spec: LimiterSpec) =>
    new RateLimiterMemory({ keyPrefix: spec.prefix, points: spec.points, duration: spec.duration });

  if (rl.store === "redis" && rl.redisUrl) {
    // Client libraries load only for the store in use: each costs start-up time and memory (bench/RESULTS.md).
    const { Redis } = await import("ioredis");
    // No offline queue: a call never waits on a reconnecting Redis, it uses the insurance limiter.
    const redis = new Redis(rl.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
    redis.on("error", (e: Error) => logger.warn("rate-limit store error", { store: "redis", error_name: e.name }));
    await withTimeout(redis.connect(), STORE_CONNECT_TIMEOUT_MS).catch(() =>
      logger.warn("rate-limit store unreachable at start; counting per replica until it answers", { store: "redis" }),
    );
    return {
      kind: "redis",
      make: (spec) =>
        new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: spec.prefix,
          points: spec.points,
          duration: spec.duration,
          insuranceLimiter: memory(spec),
        }),
      close: async () => {
        await redis.quit().catch(() => redis.disconnect());
      },
    };
  }

  if (rl.store === "database" && database.kind === "postgresql") {
    // A small pool of its own, so counters never queue behind (or starve) the service's queries.
    const { default: pgClient } = await import("pg");
    const pool = new pgClient.Pool({
      connectionString: database.url,
      max: 2,
      connectionTimeoutMillis: STORE_CONNECT_TIMEOUT_MS,
    });
    pool.on("error", (e: Error) => logger.warn("rate-limit store error", { store: "postgresql", error_name: e.name }));
    await createTable(pool);
    return {
      kind: "postgresql",
      make: (spec) =>
        new RateLimiterPostgres({
          storeClient: pool,
          storeType: "pool",
          tableName: RATE_LIMIT_TABLE,
          tableCreated: true,
          clearExpiredByTimeout: true,
          keyPrefix: spec.prefix,
          points: spec.points,
          duration: spec.duration,
          insuranceLimiter: memory(spec),
        }),
      close: () => pool.end(),
    };
  }

  if (rl.store === "database") {
    logger.info("RATE_LIMIT_STORE=database with SQLite: counting in memory (one replica)");
  }
  return { kind: "memory", make: memory, close: async () => undefined };
}

/** The library's own schema, created up front so the first call never races it. */
async function createTable(pool: pg.Pool): Promise<void> {
  try {
    await pool.query(
      `CREATE TABLE IF NOT EXISTS "${RATE_LIMIT_TABLE}" (key varchar(255) PRIMARY KEY, points integer NOT NULL DEFAULT 0, expire bigint)`,
    );
  } catch (e) {
    // Two replicas starting at once: the loser of CREATE TABLE IF NOT EXISTS sees a unique violation.
    if ((e as { code?: string }).code !== "23505") throw e;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
