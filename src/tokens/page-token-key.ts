import { hkdfSync } from "node:crypto";
import type { KeyRing } from "./keys.js";

/**
 * The HMAC key of AdminService's page tokens (src/domain/page-tokens.ts),
 * derived from the signing key: every replica holds it already, so their
 * page tokens are interchangeable with no new setting, and it never leaves
 * the process. HKDF with its own label keeps the two uses apart. A token
 * outlives a key rotation only as long as a listing takes: after one, a
 * client starts its listing again (the old token is VALIDATION_ERROR).
 */
export function derivePageTokenKey(keys: KeyRing): Uint8Array {
  const secret = keys.signing.privateKey.export({ format: "der", type: "pkcs8" });
  return new Uint8Array(hkdfSync("sha256", secret, Buffer.alloc(0), "warden admin page tokens v1", 32));
}
