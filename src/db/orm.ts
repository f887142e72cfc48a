import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import type { MikroORM } from "@mikro-orm/core";
import { Migrator } from "@mikro-orm/migrations";
import type { AbstractSqlDriver, SqlEntityManager } from "@mikro-orm/sqlite";
import type pg from "pg";
import type { DatabaseConfig } from "../config.js";
import { evictHungConnections } from "../patches/pg-hung-connections.js";
import { cachePreparedStatements } from "../patches/sqlite-statement-cache.js";
import { entities } from "./entities.js";
import { postgresqlMigrations, sqliteMigrations } from "./migrations/index.js";
import { nameHotStatements } from "./pg-named-statements.js";

/** Either dialect, seen through the SQL driver interface both share. */
export type Orm = MikroORM<AbstractSqlDriver, SqlEntityManager<AbstractSqlDriver>>;

export interface OrmOptions {
  readonly poolSize?: number;
  /** Per-query timeout enforced by the driver where it has one (PostgreSQL). */
  readonly statementTimeoutMs?: number;
  /**
   * PostgreSQL: run the hot queries as named prepared statements (default).
   * Off behind a pooler in transaction mode that cannot keep a connection's
   * statements (PgBouncer before 1.21, or without max_prepared_statements).
   */
  readonly namedStatements?: boolean;
}

/**
 * Opens the database. SQLite is the embedded default (a file in the data
 * folder, created on first start); a postgresql:// URL selects PostgreSQL.
 * The schema comes only from the checked-in migrations (see migrate()).
 */
export async function createOrm(db: DatabaseConfig, opts: OrmOptions = {}): Promise<Orm> {
  const common = {
    entities,
    extensions: [Migrator],
    // Queries are not logged: parameters may hold hashes or token digests.
    debug: false,
    allowGlobalContext: false,
    ensureDatabase: false,
    discovery: { warnWhenNoEntities: false },
  };
  if (db.kind === "sqlite") {
    if (db.path !== ":memory:") await mkdir(dirname(db.path), { recursive: true });
    // Each driver is loaded only when chosen: the other one's module graph
    // (pg or better-sqlite3, and its dialect) costs start-up time and memory.
    const { MikroORM: SqliteORM } = await import("@mikro-orm/sqlite");
    const orm = await SqliteORM.init({
      ...common,
      dbName: db.path,
      migrations: { migrationsList: sqliteMigrations, snapshot: false, silent: true },
    });
    const conn = orm.em.getConnection();
    // WAL lets readers run beside the writer; busy_timeout waits out a locked file instead of failing.
    if (db.path !== ":memory:") await conn.execute("pragma journal_mode = wal");
    // better-sqlite3 waits for a lock synchronously, blocking the event loop: keep the wait within the call budget.
    await conn.execute(`pragma busy_timeout = ${Math.min(opts.statementTimeoutMs ?? 5000, 5000)}`);
    await conn.execute("pragma synchronous = normal");
    cachePreparedStatements(await conn.getNativeClient());
    return orm as unknown as Orm;
  }
  const { MikroORM: PostgresORM } = await import("@mikro-orm/postgresql");
  const timeout = opts.statementTimeoutMs;
  const onPoolCreated = (pool: pg.Pool) => {
    // Eviction acts on the client-side read timeout, which exists only with a statement timeout.
    if (timeout) evictHungConnections(pool);
    if (opts.namedStatements ?? true) nameHotStatements(pool);
  };
  const orm = await PostgresORM.init({
    ...common,
    clientUrl: db.url,
    pool: { min: 0, max: opts.poolSize ?? 10 },
    driverOptions: {
      onPoolCreated,
      ...(timeout
        ? {
            statement_timeout: timeout,
            connectionTimeoutMillis: timeout,
            // Client side: catches a server that accepts but never answers; a bit
            // later than statement_timeout so a merely slow query is cancelled by the server.
            query_timeout: timeout + 1000,
          }
        : {}),
    },
    migrations: { migrationsList: postgresqlMigrations, snapshot: false, silent: true },
  });
  return orm as unknown as Orm;
}

/** Applies pending migrations; the only way the schema changes. */
export async function migrate(orm: Orm): Promise<void> {
  await orm.migrator.up();
}
