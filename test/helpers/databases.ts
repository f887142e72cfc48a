import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

/** The server used to create and drop per-file PostgreSQL databases. */
export const PG_ADMIN_URL = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export interface TestDatabase {
  /** A DATABASE_URL for the service. */
  readonly url: string;
  readonly kind: "sqlite" | "postgresql";
  drop(): Promise<void>;
}

let pgReachable: Promise<boolean> | undefined;

/** Whether PostgreSQL answers. Under CI=true an unreachable server is a failure, not a skip. */
export function postgresAvailable(): Promise<boolean> {
  pgReachable ??= (async () => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query("select 1");
      return true;
    } catch {
      if (process.env.CI === "true") {
        throw new Error(`PostgreSQL at ${PG_ADMIN_URL} is unreachable, and CI=true requires the PostgreSQL tests to run`);
      }
      console.warn(`\n*** PostgreSQL at ${PG_ADMIN_URL} is unreachable: PostgreSQL tests are SKIPPED ***\n`);
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return pgReachable;
}

/** A fresh, empty database of the given kind, dropped by drop(). */
export async function createTestDatabase(kind: "sqlite" | "postgresql"): Promise<TestDatabase> {
  if (kind === "sqlite") {
    const path = join(tmpdir(), `warden-test-${randomUUID()}.sqlite`);
    return {
      kind,
      url: `sqlite:${path}`,
      drop: async () => {
        for (const suffix of ["", "-wal", "-shm"]) await rm(path + suffix, { force: true });
      },
    };
  }
  const name = `warden_t_${randomUUID().replaceAll("-", "")}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    kind,
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** The database kinds a file should run against: SQLite always, PostgreSQL when reachable. */
export async function databaseKinds(): Promise<Array<"sqlite" | "postgresql">> {
  return (await postgresAvailable()) ? ["sqlite", "postgresql"] : ["sqlite"];
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
