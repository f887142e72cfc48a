import { createHmac, randomBytes } from "node:crypto";
import bcrypt from "bcrypt";
import type { PasswordHasher } from "../domain/ports.js";
import { currentSpan, errorType, markFailed, startChildSpan } from "../tracing/spans.js";
import type { Tracing } from "../tracing/tracing.js";
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

/**
 * bcrypt through its async API only: hashing runs on libuv's pool, never on
 * the event loop. While tracing is on, each hash of a traced call shows as
 * two child spans: `password.queue`, the wait for a slot of the limiter, and
 * `password.hash` / `password.verify`, the bcrypt run itself.
 */
export function createBcryptHasher(rounds: number, limiter: HashLimiter, tracing?: Tracing): PasswordHasher {
  const run = tracing ? tracedRun(limiter, tracing) : <T>(_name: string, work: () => Promise<T>) => limiter.run(work);
  return {
    hash: (password) => run("password.hash", () => bcrypt.hash(prehash(password), rounds)),
    verify: (password, hash) => run("password.verify", () => bcrypt.compare(prehash(password), hash)),
    needsRehash: (hash) => costOf(hash) !== rounds,
  };
}

/**
 * The limiter with the two spans. The parent is taken when the hash is
 * asked for: the limiter starts a waiting task from whichever call frees a
 * slot, so inside the task the current span is that other call's. No span
 * attribute says anything about the password or the hash.
 */
function tracedRun(limiter: HashLimiter, tracing: Tracing) {
  return async <T>(name: string, work: () => Promise<T>): Promise<T> => {
    const parent = currentSpan();
    const queue = startChildSpan(tracing, "password.queue");
    if (queue === undefined) return limiter.run(work);
    let started = false;
    try {
      return await limiter.run(async () => {
        started = true;
        queue.end();
        const span = tracing.startSpan(name, parent);
        try {
          return await work();
        } catch (e) {
          markFailed(span, errorType(e));
          throw e;
        } finally {
          span.end();
        }
      });
    } catch (e) {
      // Refused by the limiter (the queue deadline passed): the wait is what failed.
      if (!started) {
        markFailed(queue, errorType(e));
        queue.end();
      }
      throw e;
    }
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
