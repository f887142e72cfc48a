import { createHash, randomBytes } from "node:crypto";

/**
 * Reset and verification tokens: 256 random bits, base64url (43 URL-safe
 * characters, so a link template needs no encoding). Only the SHA-256 is
 * stored; a fast hash is enough for a secret with this much entropy.
 */
const TOKEN_BYTES = 32;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export const newOneTimeToken = (): string => randomBytes(TOKEN_BYTES).toString("base64url");

export const isOneTimeTokenShaped = (token: string): boolean => TOKEN_SHAPE.test(token);

export const hashOneTimeToken = (token: string): string =>
  createHash("sha256").update(token, "utf8").digest("base64url");
