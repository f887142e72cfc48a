import { createHmac, randomBytes } from "node:crypto";
import bcrypt from "bcrypt";
import type { PasswordHasher } from "../domain/ports.js";
import type { HashLimiter } from "./hash-limiter.js";

/**
 * bcrypt reads at most 72 bytes, so two long passwords sharing a prefix would
 * verify against each other. Every password is first reduced to
 * base64(HMAC-SHA-256) — 44 ASCII bytes, no NUL — so every byte counts. The
 * HMAC key only separates this use from any other SHA-256 of the password
 * (hash shucking); it is not a secret pepper, so losing it loses nothing.
 */
const PREHASH_KEY = "warden/password/v1";

const prehash = (password: string) => createHmac("sha256", PREHASH_KEY).update(password, "utf8").digest("base64");

const costOf = (hash: string): number | null => {
  const m = /^\$2[abxy]\$(\d{2})\$/.exec(hash);
  return m?.[1] ? Number(m[1]) : null;
};

/** bcrypt through its async API only: hashing runs on libuv's pool, never on the event loop. */
export function createBcryptHasher(rounds: number, limiter: HashLimiter): PasswordHasher {
  return {
    hash: (password) => limiter.run(() => bcrypt.hash(prehash(password), rounds)),
    verify: (password, hash) => limiter.run(() => bcrypt.compare(prehash(password), hash)),
    needsRehash: (hash) => costOf(hash) !== rounds,
  };
}

const BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/**
 * A well-formed hash at the given cost that no password matches (a random
 * 31-character digest), made without hashing. Verifying against it costs a
 * full bcrypt run, since cost and salt come from the hash, so unknown users
 * take as long as known ones; and start-up does not wait for a real cost-12
 * hash (see bench/RESULTS.md for what one costs).
 */
export async function unmatchableHash(rounds: number): Promise<string> {
  const salt = await bcrypt.genSalt(rounds);
  let digest = "";
  for (const b of randomBytes(31)) digest += BCRYPT_ALPHABET[b & 63];
  return salt + digest;
}
