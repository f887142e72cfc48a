import { access } from "node:fs/promises";
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
   * Resolves once the thread's code is known to be there; rejects if not
   * (start-up waits for it, so a broken install fails at once rather than at
   * the first registration).
   */
  readonly ready: Promise<void>;
  /** Estimates at most the first {@link ESTIMATE_MAX_CHARACTERS} code points of `password`. */
  estimate(password: string, userInputs: readonly string[]): Promise<StrengthVerdict>;
  /** Whether the thread (and its dictionaries) is in memory now. */
  running(): boolean;
  close(): Promise<void>;
}

export interface StrengthEstimatorOptions {
  /** The thread ends after this long without an estimate, and starts again at the next one. */
  readonly idleMs?: number;
}

/** The estimator's cost grows faster than linearly with length; past this, a password is strong by length anyway. */
export const ESTIMATE_MAX_CHARACTERS = 100;
/** Estimates waiting for the thread; past this the call is refused at once (registrations are rate-limited anyway). */
const MAX_PENDING = 32;
/** A replica that signs nobody up for a minute gives the dictionaries' memory back. */
const DEFAULT_IDLE_MS = 60_000;

interface Reply {
  readonly id: number;
  readonly score: StrengthVerdict["score"];
  readonly warning: string | null;
  readonly suggestions: string[];
}

type Pending = { resolve(v: StrengthVerdict): void; reject(e: unknown): void };

/**
 * One worker thread and the estimates it owes. Estimates are posted at once,
 * even while it still loads its dictionaries (its port holds them); a thread
 * that fails to start fails them through the same error and exit handlers.
 */
interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

/**
 * zxcvbn-ts (common and English dictionaries) in a worker thread of its
 * own. Loading the dictionaries takes ~0.3–0.6 s of CPU, and one estimate
 * of an adversarial 100-character password up to ~0.2 s: on the event loop
 * that would stall every other call, so it runs beside it, one estimate at
 * a time, with a bounded queue. The thread holds ~45 MiB (its own V8 heap
 * and the dictionaries), which a replica serving only token checks should
 * not carry: it starts with the first estimate, ends after `idleMs` without
 * one, and is started again by the next (that estimate waits for the load).
 * A thread that dies fails the estimates it owed with SERVICE_UNAVAILABLE;
 * the next estimate starts a new one.
 */
export function startStrengthEstimator(opts: StrengthEstimatorOptions = {}): StrengthEstimator {
  const idleMs = opts.idleMs ?? DEFAULT_IDLE_MS;
  // Compiled, this module is .js and so is the worker; in tests and under
  // tsx both are .ts, which Node (or tsx's loader) runs as they are.
  const url = new URL(`./strength-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
  let thread: Thread | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let nextId = 0;
  let closed = false;

  function startThread(): Thread {
    const worker = new Worker(url);
    // The thread must never keep the process alive on its own.
    worker.unref();
    const pending = new Map<number, Pending>();
    const t: Thread = { worker, pending };
    const failAll = (e: unknown) => {
      if (thread === t) thread = undefined;
      for (const p of pending.values()) p.reject(unavailable(e));
      pending.clear();
    };
    worker.on("error", failAll);
    worker.on("exit", (code) => failAll(new Error(`password strength estimator exited with ${code}`)));
    worker.on("message", (m: Reply) => {
      const p = pending.get(m.id);
      pending.delete(m.id);
      p?.resolve({ score: m.score, warning: m.warning, suggestions: m.suggestions });
      if (pending.size === 0) stopWhenIdle(t);
    });
    return t;
  }

  function stopWhenIdle(t: Thread) {
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      if (thread !== t || t.pending.size > 0) return;
      thread = undefined;
      void t.worker.terminate();
    }, idleMs);
    idleTimer.unref();
  }

  // The thread starts with the first estimate, not here: start-up does not
  // spend the dictionaries' CPU and memory on a replica that may never need
  // them. What can be checked now is that its code is there.
  const ready = access(fileURLToPath(url));
  ready.catch(() => undefined);

  return {
    ready,
    running: () => thread !== undefined,
    estimate(password, userInputs) {
      if (closed) return Promise.reject(unavailable(new Error("password strength estimator closed")));
      clearTimeout(idleTimer);
      thread ??= startThread();
      const { worker, pending } = thread;
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
      closed = true;
      clearTimeout(idleTimer);
      const t = thread;
      thread = undefined;
      await t?.worker.terminate();
    },
  };
}

const unavailable = (cause: unknown) =>
  new DomainError("SERVICE_UNAVAILABLE", "service temporarily unavailable, try again later", { cause });
