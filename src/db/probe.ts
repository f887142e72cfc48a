import type { DatabaseConfig } from "../config.js";
import type { Orm } from "./orm.js";

/**
 * The health probe's query. PostgreSQL: a round trip. SQLite: a write that
 * changes nothing but must take the write lock, because in WAL mode reads
 * keep working while another process holds the file locked and only writes
 * fail.
 */
export function createDbProbe(orm: Orm, kind: DatabaseConfig["kind"]): () => Promise<unknown> {
  const sql = kind === "sqlite" ? "update users set username = username where 0" : "select 1";
  return () => orm.em.getConnection().execute(sql);
}
