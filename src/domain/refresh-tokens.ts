import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomFillSync } from "node:crypto";

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

/**
 * The pair that replaced a token is kept, for the refresh grace window, sealed
 * with a key derived from the replaced token itself. Only a caller that holds
 * that token can open it; the database alone cannot, since it stores only the
 * token's hash (a different derivation).
 */
const sealKey = (token: string): Buffer =>
  Buffer.from(hkdfSync("sha256", token, Buffer.alloc(0), "warden refresh successor v1", 32));

export function sealSuccessor(token: string, payload: unknown): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", sealKey(token), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(payload), "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url");
}

/** Returns the sealed payload, or null when it does not open with this token. */
export function openSuccessor(token: string, sealed: string): unknown {
  try {
    const raw = Buffer.from(sealed, "base64url");
    const decipher = createDecipheriv("aes-256-gcm", sealKey(token), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    const body = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
    return JSON.parse(body.toString("utf8")) as unknown;
  } catch {
    return null;
  }
}
