import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import type { SecretSealer } from "../domain/mfa-ports.js";
import type { MfaKey } from "./keys.js";

const FORMAT = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The configured key is not used directly: a subkey per purpose (here,
 * sealing secrets; elsewhere, hashing recovery codes) keeps one use from
 * weakening the other.
 */
export const subkey = (key: Buffer, purpose: string): Buffer =>
  Buffer.from(hkdfSync("sha256", key, Buffer.alloc(0), `warden mfa ${purpose}`, 32));

/** Binds the ciphertext to its owner and its use: a row copied to another user or column does not open. */
const aad = (context: string) => Buffer.from(`warden:totp-secret:${FORMAT}:${context}`, "utf8");

/**
 * AES-256-GCM under the first key (random 96-bit IV per seal); opens with
 * whichever key the stored id names. Format: `v1.` + base64url(iv | tag | ciphertext).
 */
export function createSecretSealer(keys: readonly MfaKey[]): SecretSealer {
  const first = keys[0];
  if (!first) throw new Error("createSecretSealer: needs at least one key");
  const byId = new Map(keys.map((k) => [k.kid, subkey(k.key, "totp secret")]));
  const sealingKey = byId.get(first.kid)!;

  return {
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", sealingKey, iv);
      cipher.setAAD(aad(context));
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      const raw = Buffer.concat([iv, cipher.getAuthTag(), body]);
      return { ciphertext: `${FORMAT}.${raw.toString("base64url")}`, keyId: first.kid };
    },

    open(sealed, context) {
      const key = byId.get(sealed.keyId);
      // The message names neither key nor secret: it reaches the log at most.
      if (!key) throw new Error(`TOTP secret sealed with unknown key id "${sealed.keyId}"`);
      if (!sealed.ciphertext.startsWith(`${FORMAT}.`)) throw new Error("TOTP secret in an unknown format");
      const raw = Buffer.from(sealed.ciphertext.slice(FORMAT.length + 1), "base64url");
      const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, IV_BYTES));
      decipher.setAAD(aad(context));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString("utf8");
    },
  };
}
