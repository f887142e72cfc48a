import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

/** Where a fresh PostgreSQL database is created (and dropped) for each service run. */
export const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export interface BenchDatabase {
  readonly kind: "sqlite" | "postgresql";
  readonly url: string;
  drop(): Promise<void>;
}

/** Whether PostgreSQL answers within a few seconds; the PG rows are skipped when it does not. */
export async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
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

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** A new, empty database; drop() removes it (SQLite: the file and its WAL). */
export async function createDatabase(kind: "sqlite" | "postgresql"): Promise<BenchDatabase> {
  if (kind === "sqlite") {
    const path = join(tmpdir(), `warden-bench-${randomUUID()}.sqlite`);
    return {
      kind,
      url: `sqlite:${path}`,
      async drop() {
        for (const suffix of ["", "-wal", "-shm"]) await rm(path + suffix, { force: true });
      },
    };
  }
  const name = `warden_bench_${randomUUID().replaceAll("-", "")}`;
  await admin((c) => c.query(`create database ${name}`));
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    kind,
    url: url.toString(),
    drop: () => admin((c) => c.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}
