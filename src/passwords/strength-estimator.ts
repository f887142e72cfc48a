import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { DomainError } from "../domain/errors.js";

/** zxcvbn's verdict on one password: a score from 0 (guessable) to 4, and English advice. */
export interface StrengthVerdict {
  readonly score: 0 | 1 | 2 | 3 | 4;
  readonly warning: string | null;
  readonly suggestions: readonly string[];
}

export interface StrengthEstimator {
  /**
   * Resolves once the dictionaries are loaded; rejects if the thread cannot
   * start. Estimates asked for earlier simply wait for it.
   */
  readonly ready: Promise<void>;
  /** Estimates at most the first {@link ESTIMATE_MAX_CHARACTERS} code points of `password`. */
  estimate(password: string, userInputs: readonly string[]): Promise<StrengthVerdict>;
  close(): Promise<void>;
}

/** The estimator's cost grows faster than linearly with length; past this, a password is strong by length anyway. */
export const ESTIMATE_MAX_CHARACTERS = 100;
/** Estimates waiting for the thread; past this the call is refused at once (registrations are rate-limited anyway). */
const MAX_PENDING = 32;

interface Reply {
  readonly id: number;
  readonly score: StrengthVerdict["score"];
  readonly warning: string | null;
  readonly suggestions: string[];
}

type Pending = { resolve(v: StrengthVerdict): void; reject(e: unknown): void };

/**
 * zxcvbn-ts (common and English dictionaries) in a worker thread of its
 * own. Loading the dictionaries takes ~0.3–0.6 s of CPU and ~25 MB, and one
 * estimate of an adversarial 100-character password up to ~0.2 s: on the
 * event loop that would stall every other call, so it runs beside it, one
 * estimate at a time, with a bounded queue.
 */
export function startStrengthEstimator(): StrengthEstimator {
  // Compiled, this module is .js and so is the worker; in tests and under
  // tsx both are .ts, which Node (or tsx's loader) runs as they are.
  const url = new URL(`./strength-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
  const worker = new Worker(url);
  // The thread must never keep the process alive on its own.
  worker.unref();
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let failure: unknown;

  const ready = new Promise<void>((resolve, reject) => {
    worker.once("message", () => resolve());
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`password strength estimator exited with ${code}`)));
  });
  // Later failures reach the callers waiting at the time, not an unhandled rejection.
  ready.catch(() => undefined);

  const failAll = (e: unknown) => {
    failure = e;
    for (const p of pending.values()) p.reject(unavailable(e));
    pending.clear();
  };
  worker.on("error", failAll);
  worker.on("exit", (code) => failAll(new Error(`password strength estimator exited with ${code}`)));
  worker.on("message", (m: Reply | { ready: true }) => {
    if (!("id" in m)) return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    p?.resolve({ score: m.score, warning: m.warning, suggestions: m.suggestions });
  });

  return {
    ready,
    estimate(password, userInputs) {
      if (failure !== undefined) return Promise.reject(unavailable(failure));
      if (pending.size >= MAX_PENDING) {
        return Promise.reject(
          new DomainError("RATE_LIMITED", "too many password checks at once; try again later", { retryAfterMs: 1000 }),
        );
      }
      const id = nextId++;
      return new Promise<StrengthVerdict>((resolve, reject) => {
        pending.set(id, { resolve, reject });
        // Posted at once even before the thread is ready: its port holds the
        // message until the thread listens.
        worker.postMessage({
          id,
          password: [...password].slice(0, ESTIMATE_MAX_CHARACTERS).join(""),
          userInputs: userInputs.filter((s) => s.length > 0),
        });
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}

const unavailable = (cause: unknown) =>
  new DomainError("SERVICE_UNAVAILABLE", "service temporarily unavailable, try again later", { cause });
