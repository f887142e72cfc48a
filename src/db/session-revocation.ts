import type { Kysely } from "@mikro-orm/sqlite";
import type { Sql, Tables } from "./sql.js";

/**
 * Ends every open session of a user: the one statement behind an admin's
 * RevokeUserSessions and the second half of a deactivation. It runs on `db`,
 * the root or a transaction, so a deactivation can make it part of its own.
 * Sessions already expired are left as they are: nothing can use them, and
 * the count says how many live sessions ended.
 */
export async function revokeOpenSessions(db: Kysely<Tables>, sql: Sql, userId: string, at: Date): Promise<number> {
  const r = await db
    .updateTable("sessions")
    .set({ revoked_at: sql.toDb(at) })
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", sql.toDb(at))
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}
