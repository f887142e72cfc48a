import type { Kysely } from "@mikro-orm/sqlite";
import type { Sql, Tables } from "./sql.js";

/**
 * The one statement that ends a user's live sessions, as a builder its
 * callers narrow (`.where("id", "=", …)` for one session, `"!="` to keep the
 * caller's): an admin's RevokeUserSessions, a deactivation, an account's
 * RevokeSession and RevokeOtherSessions, and the sign-out that turning on a
 * second factor requires. It runs on `db`, the root or a transaction, so a
 * deactivation or a password change can make it part of its own. Sessions
 * already expired are left as they are: nothing can use them, and the count
 * says how many live sessions ended.
 */
export function openSessionsOf(db: Kysely<Tables>, sql: Sql, userId: string, at: Date) {
  return db
    .updateTable("sessions")
    .set({ revoked_at: sql.toDb(at) })
    .where("user_id", "=", userId)
    .where("revoked_at", "is", null)
    .where("expires_at", ">", sql.toDb(at));
}

/** How many sessions an update ended. */
export const endedCount = (r: { numUpdatedRows: bigint } | undefined): number => Number(r?.numUpdatedRows ?? 0n);

/** Ends every live session of a user; returns how many. */
export async function revokeOpenSessions(db: Kysely<Tables>, sql: Sql, userId: string, at: Date): Promise<number> {
  return endedCount(await openSessionsOf(db, sql, userId, at).executeTakeFirst());
}
