import { createTestDatabase, postgresReachable as reachable, type TestDatabase } from "../test/helpers/databases.js";

/** Where a fresh PostgreSQL database is created (and dropped) for each service run. */
export const PG_ADMIN_URL = process.env.BENCH_PG_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

export type BenchDatabase = TestDatabase;

/** Whether PostgreSQL answers within a few seconds; the PG rows are skipped when it does not. */
export const postgresReachable = (): Promise<boolean> => reachable(PG_ADMIN_URL);

/** A new, empty database; drop() removes it (SQLite: the file and its WAL). */
export const createDatabase = (kind: "sqlite" | "postgresql"): Promise<BenchDatabase> =>
  createTestDatabase(kind, { adminUrl: PG_ADMIN_URL, prefix: "warden_bench" });
