import type { MfaAccounts } from "../domain/mfa-ports.js";
import type { Sql } from "./sql.js";

/** The e-mail (the TOTP account name) and password hash of a user, for re-authentication. */
export function createMfaAccounts(sql: Sql): MfaAccounts {
  return {
    async findAccount(userId) {
      const row = await sql
        .db()
        .selectFrom("users")
        .select(["email", "password_hash"])
        .where("id", "=", userId)
        .executeTakeFirst();
      return row ? { email: row.email, passwordHash: row.password_hash } : null;
    },
  };
}
