import { randomUUID } from "node:crypto";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";

/**
 * Scratch databases for the benchmark's service runs. The benchmark keeps its
 * own (small) copy rather than importing test/helpers: bench/ must stand on
 * its own, whatever shape the test tree takes.
 */

/** Where a fresh PostgreSQL database is created (and dropped) for each service run. */
export const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export interface BenchDatabase {
  /** A DATABASE_URL for the service. */
  readonly url: string;
  readonly kind: "sqlite" | "postgresql";
  drop(): Promise<void>;
}

/** Whether PostgreSQL answers within a few seconds; the PostgreSQL rows are skipped when it does not. */
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

async function asAdmin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** A new, empty database; drop() removes it (SQLite: the file and its WAL). */
export async function createDatabase(kind: "sqlite" | "postgresql"): Promise<BenchDatabase> {
  if (kind === "sqlite") {
    const path = join(tmpdir(), `warden_bench-${randomUUID()}.sqlite`);
    return {
      kind,
      url: `sqlite:${path}`,
      drop: async () => {
        for (const suffix of ["", "-wal", "-shm"]) await rm(path + suffix, { force: true });
      },
    };
  }
  const name = `warden_bench_${randomUUID().replaceAll("-", "")}`;
  await asAdmin(`create database ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return { kind, url: url.toString(), drop: () => asAdmin(`drop database if exists ${name} with (force)`) };
}
