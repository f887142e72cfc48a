import { createHmac } from "node:crypto";
import type { RecoveryCodeHasher } from "../domain/mfa-ports.js";
import type { MfaKey } from "./keys.js";
import { subkey } from "./secret-sealer.js";

/**
 * Recovery codes are stored as HMAC-SHA-256(subkey, user id | code), not
 * with a password hash. A slow hash exists to protect low-entropy secrets;
 * these have 50 random bits each, and the key lives outside the database,
 * so a database copy alone cannot test a single guess offline. Online, each
 * guess costs a challenge attempt (5 per challenge, and the login limits).
 * The user id in the input makes equal codes of two users hash apart.
 * Digests are base64url (43 characters), one per key: see RecoveryCodeHasher.
 */
export function createRecoveryCodeHasher(keys: readonly MfaKey[]): RecoveryCodeHasher {
  if (keys.length === 0) throw new Error("createRecoveryCodeHasher: needs at least one key");
  const hmacKeys = keys.map((k) => subkey(k.key, "recovery code"));
  return {
    hashes: (userId, normalizedCode) =>
      hmacKeys.map((key) =>
        createHmac("sha256", key).update(`${userId}|${normalizedCode}`, "utf8").digest("base64url"),
      ),
  };
}
