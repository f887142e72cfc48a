import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomFillSync } from "node:crypto";

/**
 * Random bytes from a pool filled 4 KiB at a time, as node:crypto's own
 * randomUUID does: each randomBytes() call costs a trip into OpenSSL's
 * generator (bench/RESULTS.md), and a Refresh needs two (the token, the IV).
 * A refill allocates a new buffer, so bytes handed out are never rewritten.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let offset = 0;
function randomBytes(n: number): Buffer {
  if (offset + n > pool.length) {
    pool = randomFillSync(Buffer.allocUnsafe(POOL_BYTES));
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + n);
  offset += n;
  return bytes;
}

/**
 * Refresh tokens are 256 random bits, base64url-encoded (43 characters). Only
 * their SHA-256 is stored, so a database leak yields no usable token.
 */
const TOKEN_BYTES = 32;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export const newRefreshToken = (): string => randomBytes(TOKEN_BYTES).toString("base64url");

export const isRefreshTokenShaped = (token: string): boolean => TOKEN_SHAPE.test(token);

export const hashRefreshToken = (token: string): string =>
  createHash("sha256").update(token, "utf8").digest("base64url");

/** Seals the pair that replaced a refresh token, for the grace window, and opens it again. */
export interface SuccessorSeal {
  seal(token: string, payload: unknown): string;
  /** The sealed payload, or null when it does not open with this token (and this server's secret). */
  open(token: string, sealed: string): unknown;
}

const SEAL_VERSION = "v2";

/**
 * The pair that replaced a token is kept, for the refresh grace window, sealed
 * (AES-256-GCM) with a key derived from two things: the replaced token, which
 * only its holder has (the database stores just its SHA-256, a different
 * derivation), and a secret of the server that the database never holds. So a
 * copy of the database plus an old token opens nothing; it would also need the
 * server's secret. The seal is cleared once its window has passed.
 *
 * `serverSecret` must be the same on every replica (the app derives it from the
 * JWT signing key); at least 32 bytes of key material.
 */
export function createSuccessorSeal(serverSecret: Uint8Array): SuccessorSeal {
  if (serverSecret.byteLength < 32) throw new Error("the successor seal needs at least 32 bytes of secret");
  // Extract once: the per-token derivation below uses it as its HKDF salt.
  const root = Buffer.from(hkdfSync("sha256", serverSecret, "warden refresh successor seal", SEAL_VERSION, 32));
  const info = Buffer.from(`warden refresh successor ${SEAL_VERSION}`);
  const keyFor = (token: string): Buffer => hkdfSha256(token, root, info);

  return {
    seal(token, payload) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", keyFor(token), iv);
      const body = Buffer.concat([cipher.update(JSON.stringify(payload), "utf8"), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url");
    },
    open(token, sealed) {
      try {
        const raw = Buffer.from(sealed, "base64url");
        const decipher = createDecipheriv("aes-256-gcm", keyFor(token), raw.subarray(0, 12));
        decipher.setAuthTag(raw.subarray(12, 28));
        const body = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
        return JSON.parse(body.toString("utf8")) as unknown;
      } catch {
        return null;
      }
    },
  };
}

const ONE = Buffer.of(1);

/**
 * HKDF-SHA256 (RFC 5869) for one 32-byte key: extract, PRK = HMAC(salt, ikm);
 * expand, T(1) = HMAC(PRK, info || 0x01). The same bytes as
 * hkdfSync("sha256", ikm, salt, info, 32) at half its cost (4.5 against 8.8 µs
 * alone; under load the profile charged hkdfSync and its two KeyObjects ~30 µs
 * of each Refresh, bench/RESULTS.md).
 */
export function hkdfSha256(ikm: string, salt: Buffer, info: Buffer): Buffer {
  const prk = createHmac("sha256", salt).update(ikm, "utf8").digest();
  return createHmac("sha256", prk).update(info).update(ONE).digest();
}
