import { createHash } from "node:crypto";
import { RateLimiterRes } from "rate-limiter-flexible";
import type { Config } from "../config.js";
import type { LoginGuard } from "../domain/auth-service.js";
import { DomainError } from "../domain/errors.js";
import type { AuthEvents } from "../domain/events.js";
import { clientKey } from "../net/ip-address.js";
import type { LimiterStore } from "./stores.js";

/** The longest pause between two failed logins of one account, before the block. */
export const MAX_DELAY_SECONDS = 30;
/**
 * How long failed logins of an account are remembered after the first one.
 * An hour matches ASVS 4.0.3 2.2.1 ("no more than 100 failed attempts per
 * hour"), since LOGIN_ACCOUNT_MAX_FAILURES is at most 100.
 */
export const FAILURE_WINDOW_SECONDS = 3600;

/** Delay after the n-th failure beyond the free ones: 1, 2, 4 … seconds, capped. */
export const delaySeconds = (beyondFree: number, cap: number): number =>
  Math.min(2 ** Math.max(0, beyondFree - 1), MAX_DELAY_SECONDS, cap);

export const rateLimited = (retryAfterMs: number) =>
  new DomainError("RATE_LIMITED", "too many attempts; try again later", {
    // Whole seconds, at least one: what Retry-After can say, and never "retry now".
    retryAfterMs: Math.max(1000, Math.ceil(retryAfterMs / 1000) * 1000),
  });

/**
 * Counters are keyed by a digest of the identifier, so the store holds no
 * e-mail addresses or usernames and any length of input fits its key column.
 */
const accountKey = (login: string) => createHash("sha256").update(login, "utf8").digest("base64url").slice(0, 32);

export interface AbuseGuard extends LoginGuard {
  checkRegistration(clientAddress: string): Promise<void>;
}

/**
 * Brute-force and credential-stuffing control for Login and Register
 * (ASVS 6.1.1, 6.3.1; NIST SP 800-63B §3.2.2).
 *
 * - Per account (the submitted, normalised identifier, whether or not such
 *   a user exists, so the answer never tells): the first
 *   LOGIN_ACCOUNT_FREE_FAILURES failures cost nothing; each further one
 *   makes the next attempt wait 1, 2, 4 … (≤ 30) seconds; at
 *   LOGIN_ACCOUNT_MAX_FAILURES the account is blocked for
 *   LOGIN_ACCOUNT_BLOCK_SECONDS. A success clears the count. While delayed or
 *   blocked, no password is checked at all, the right one included.
 * - Per client address (an IPv4 address or an IPv6 /64): at most
 *   LOGIN_ADDRESS_LIMIT login attempts and REGISTER_ADDRESS_LIMIT
 *   registrations per window.
 * - For all clients together: at most REGISTER_GLOBAL_LIMIT registrations
 *   per REGISTER_GLOBAL_WINDOW_SECONDS.
 *
 * Every refusal is RATE_LIMITED with the wait in a RetryInfo.
 */
export function createAbuseGuard(rl: Config["rateLimit"], store: LimiterStore, events: AuthEvents): AbuseGuard {
  const failures = store.make({
    prefix: "login_fail_account",
    points: rl.accountMaxFailures,
    duration: Math.max(FAILURE_WINDOW_SECONDS, rl.accountBlockSeconds),
  });
  // Holds a short block per account while it must wait before its next try.
  const delays = store.make({ prefix: "login_delay_account", points: 1, duration: MAX_DELAY_SECONDS });
  const loginAddress = store.make({
    prefix: "login_address",
    points: rl.loginAddressLimit,
    duration: rl.loginAddressWindowSeconds,
  });
  const registerAddress = store.make({
    prefix: "register_address",
    points: rl.registerAddressLimit,
    duration: rl.registerAddressWindowSeconds,
  });
  // One counter for every client together, in the same store as the others,
  // so it holds across replicas: it bounds how fast anyone, from however many
  // addresses, can probe Register for existing e-mails (ASVS 6.3.8).
  const registerGlobal = store.make({
    prefix: "register_global",
    points: rl.registerGlobalLimit,
    duration: rl.registerGlobalWindowSeconds,
  });

  const spend = (limiter: AddressLimiter, scope: string, clientAddress: string, key?: string) =>
    spendAllowance(limiter, scope, clientAddress, events, key);

  return {
    // Each attempt is counted when it starts, not when its password turns out
    // wrong: otherwise attempts sent in parallel would all pass before the
    // first failure was recorded. A success clears the count again.
    async check(login, clientAddress) {
      await spend(loginAddress, "login_address", clientAddress);
      const key = accountKey(login);
      const [failed, delayed] = await Promise.all([failures.get(key), delays.get(key)]);
      if (failed && failed.consumedPoints > failures.points) throw rateLimited(failed.msBeforeNext);
      if (delayed && delayed.consumedPoints > delays.points) throw rateLimited(delayed.msBeforeNext);
      const attempt = await consume(failures, key);
      if (attempt.consumedPoints > failures.points) throw rateLimited(attempt.msBeforeNext);
      const beyondFree = attempt.consumedPoints - rl.accountFreeFailures;
      if (beyondFree <= 0) return;
      // Past the free attempts only one attempt at a time may run, and the
      // next must wait: taking the delay slot is atomic in every store.
      const slot = await consume(delays, key);
      if (slot.consumedPoints > delays.points) {
        await failures.reward(key, 1); // refused before any password was checked
        throw rateLimited(slot.msBeforeNext);
      }
      await delays.block(key, delaySeconds(beyondFree, rl.accountBlockSeconds));
    },

    async failed(login, clientAddress) {
      const key = accountKey(login);
      const count = (await failures.get(key))?.consumedPoints ?? 0;
      if (count >= rl.accountMaxFailures) {
        // block() sets the count past the limit for exactly the block's length.
        await failures.block(key, rl.accountBlockSeconds);
        events.emit({ event: "rate_limited", outcome: "blocked", reason: "login_account", clientAddress });
      }
    },

    async released(login) {
      const key = accountKey(login);
      await Promise.all([failures.reward(key, 1), delays.delete(key)]);
    },

    async succeeded(login) {
      const key = accountKey(login);
      await Promise.all([failures.delete(key), delays.delete(key)]);
    },

    async checkRegistration(clientAddress) {
      // Per address first: a client over its own allowance spends nothing of everyone's.
      await spend(registerAddress, "register_address", clientAddress);
      await spend(registerGlobal, "register_global", clientAddress, "all");
    },
  };
}

/** A counter with an allowance per window, as LimiterStore.make() returns it. */
type AddressLimiter = { readonly points: number; consume(key: string): Promise<RateLimiterRes> };

/**
 * Counts one attempt from this client (an IPv4 address or an IPv6 /64, see
 * clientKey, unless `key` names another counter, such as everyone's);
 * refuses with RATE_LIMITED once the window's allowance is spent, and
 * reports the block once, when it starts. Every per-address limit uses it:
 * Login, Register and the mail calls alike.
 */
export async function spendAllowance(
  limiter: AddressLimiter,
  scope: string,
  clientAddress: string,
  events: AuthEvents,
  key = clientKey(clientAddress),
): Promise<void> {
  const res = await consume(limiter, key);
  if (res.consumedPoints <= limiter.points) return;
  if (res.consumedPoints === limiter.points + 1)
    events.emit({ event: "rate_limited", outcome: "blocked", reason: scope, clientAddress });
  throw rateLimited(res.msBeforeNext);
}

/** consume() rejects with the counter's state once over the limit; that state is an answer, not an error. */
export async function consume(
  limiter: { consume(key: string): Promise<RateLimiterRes> },
  key: string,
): Promise<RateLimiterRes> {
  try {
    return await limiter.consume(key);
  } catch (e) {
    if (e instanceof RateLimiterRes) return e;
    throw e;
  }
}
