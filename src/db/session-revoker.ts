import type { SessionRevoker } from "../domain/mfa-ports.js";
import type { Sql } from "./sql.js";

/** Ends a user's other sessions, as turning the second factor on requires. */
export function createSessionRevoker(sql: Sql): SessionRevoker {
  return {
    async revokeOthers(userId, keepSessionId, at) {
      let query = sql
        .db()
        .updateTable("sessions")
        .set({ revoked_at: sql.toDb(at) })
        .where("user_id", "=", userId)
        .where("revoked_at", "is", null);
      if (keepSessionId !== null) query = query.where("id", "!=", keepSessionId);
      return Number((await query.executeTakeFirst()).numUpdatedRows);
    },
  };
}
