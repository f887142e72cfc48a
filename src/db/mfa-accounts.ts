import type { MfaAccounts } from "../domain/mfa-ports.js";
import { UserEntity } from "./entities.js";
import type { Orm } from "./orm.js";

/** The e-mail (the TOTP account name) and password hash of a user, for re-authentication. */
export function createMfaAccounts(orm: Orm): MfaAccounts {
  return {
    async findAccount(userId) {
      const user = await orm.em
        .fork()
        .findOne(UserEntity, { id: userId }, { fields: ["email", "passwordHash"], populate: ["passwordHash"] });
      return user ? { email: user.email, passwordHash: user.passwordHash } : null;
    },
  };
}
