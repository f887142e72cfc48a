import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { loadConfig } from "../../src/config.js";
import { createOrm } from "../../src/db/orm.js";

/** The server used to create and drop per-file PostgreSQL databases. */
export const PG_ADMIN_URL = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  /** A DATABASE_URL for the service. */
  readonly url: string;
  readonly kind: "sqlite" | "postgresql";
  drop(): Promise<void>;
}

/** Whether PostgreSQL at `adminUrl` answers within a few seconds. Never throws. */
export async function postgresReachable(adminUrl = PG_ADMIN_URL): Promise<boolean> {
  const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query("select 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

let pgReachable: Promise<boolean> | undefined;

/** Whether PostgreSQL answers. Under CI=true an unreachable server is a failure, not a skip. */
export function postgresAvailable(): Promise<boolean> {
  pgReachable ??= postgresReachable().then((ok) => {
    if (ok) return true;
    if (process.env.CI === "true") {
      throw new Error(`PostgreSQL at ${PG_ADMIN_URL} is unreachable, and CI=true requires the PostgreSQL tests to run`);
    }
    console.warn(`\n*** PostgreSQL at ${PG_ADMIN_URL} is unreachable: PostgreSQL tests are SKIPPED ***\n`);
    return false;
  });
  return pgReachable;
}

async function asAdmin(adminUrl: string, sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/**
 * A fresh, empty database of the given kind, dropped by drop(): a temporary
 * SQLite file, or a new PostgreSQL database on the server at `adminUrl`.
 */
export async function createTestDatabase(
  kind: "sqlite" | "postgresql",
  opts: { adminUrl?: string; prefix?: string } = {},
): Promise<TestDatabase> {
  const prefix = opts.prefix ?? "warden_t";
  if (kind === "sqlite") {
    const path = join(tmpdir(), `${prefix}-${randomUUID()}.sqlite`);
    return {
      kind,
      url: `sqlite:${path}`,
      drop: async () => {
        for (const suffix of ["", "-wal", "-shm"]) await rm(path + suffix, { force: true });
      },
    };
  }
  const adminUrl = opts.adminUrl ?? PG_ADMIN_URL;
  const name = `${prefix}_${randomUUID().replaceAll("-", "")}`;
  await asAdmin(adminUrl, `create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    kind,
    url: url.toString(),
    drop: () => asAdmin(adminUrl, `drop database if exists ${name} with (force)`),
  };
}

/**
 * Runs a suite once per database kind. The PostgreSQL run is reported as
 * skipped (never silently dropped) when no server answers outside CI.
 */
export async function describeEachDatabase(
  describe: { skipIf(cond: boolean): (name: string, fn: () => void) => void },
  title: string,
  fn: (kind: "sqlite" | "postgresql") => void,
): Promise<void> {
  const pgOk = await postgresAvailable();
  for (const kind of ["sqlite", "postgresql"] as const) {
    describe.skipIf(kind === "postgresql" && !pgOk)(`${title} [${kind}]`, () => fn(kind));
  }
}

/**
 * Runs one SQL statement on a test database over a connection of its own,
 * for tests that check what the service stored. `?` marks parameters.
 */
export async function queryDatabase<Row>(
  db: TestDatabase,
  sql: string,
  params: readonly unknown[] = [],
): Promise<Row[]> {
  const orm = await createOrm(loadConfig({ DATABASE_URL: db.url }).database);
  try {
    return await orm.em
      .fork()
      .getConnection()
      .execute<Row[]>(sql, [...params]);
  } finally {
    await orm.close(true);
  }
}
