import type { SessionRevoker } from "../domain/mfa-ports.js";
import { SessionEntity } from "./entities.js";
import type { Orm } from "./orm.js";

/** Ends a user's other sessions, as turning the second factor on requires. */
export function createSessionRevoker(orm: Orm): SessionRevoker {
  return {
    revokeOthers: (userId, keepSessionId, at) =>
      orm.em
        .fork()
        .nativeUpdate(
          SessionEntity,
          keepSessionId === null
            ? { user: userId, revokedAt: null }
            : { user: userId, revokedAt: null, id: { $ne: keepSessionId } },
          { revokedAt: at },
        ),
  };
}
