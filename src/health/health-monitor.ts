import type { DbGuard } from "../db/resilience.js";
import type { Logger } from "../logger.js";

/**
 * Whether the service can do its job right now: the database answers, the
 * circuit breaker lets calls through, and no shutdown has begun. Health
 * checks (gRPC and HTTP) read it; Watch streams subscribe to it.
 */
export interface HealthMonitor {
  readonly serving: boolean;
  readonly shuttingDown: boolean;
  /** Called with the new value on every change; returns an unsubscribe function. */
  subscribe(listener: (serving: boolean) => void): () => void;
  /** Starts the periodic probe. */
  start(): void;
  /** Turns NOT_SERVING for good, tells every subscriber and stops probing. */
  shutdown(): void;
  /** Probes the database now (also done periodically and on breaker changes). */
  probe(): Promise<void>;
}

/** A `select 1` a second costs nothing and bounds how stale the status can be. */
export const DEFAULT_PROBE_INTERVAL_MS = 1000;

export interface HealthMonitorOptions {
  /** A cheap query that proves the database does its job; rejects otherwise. */
  readonly probe: () => Promise<unknown>;
  /** The probe runs under the same guard as every call, so it is also the breaker's trial call. */
  readonly guard: DbGuard;
  /** How often to probe; defaults to {@link DEFAULT_PROBE_INTERVAL_MS}. */
  readonly intervalMs?: number;
  readonly logger: Logger;
}

export function createHealthMonitor(opts: HealthMonitorOptions): HealthMonitor {
  const listeners = new Set<(serving: boolean) => void>();
  // The app starts only after its migrations ran, so the database answered a moment ago.
  let dbAnswers = true;
  let shuttingDown = false;
  let probing: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const breakerAllows = () => opts.guard.state !== "open" && opts.guard.state !== "isolated";
  const compute = () => !shuttingDown && dbAnswers && breakerAllows();
  let serving = compute();

  const update = () => {
    const next = compute();
    if (next === serving) return;
    serving = next;
    opts.logger.log(next ? "info" : "warn", "health changed", {
      serving: next,
      breaker: opts.guard.state,
      shutting_down: shuttingDown,
    });
    for (const listener of listeners) listener(next);
  };

  const probe = (): Promise<void> => {
    if (shuttingDown) return Promise.resolve();
    probing ??= opts.guard
      .run(opts.probe)
      .then(
        () => (dbAnswers = true),
        () => (dbAnswers = false),
      )
      .then(() => {
        probing = undefined;
        update();
      });
    return probing;
  };

  opts.guard.onStateChange((state) => {
    opts.logger.log(state === "closed" ? "info" : "warn", "database circuit breaker", { state });
    update();
    // Opening is news enough; any other change deserves a fresh look at the database.
    if (state !== "open") void probe();
  });

  return {
    get serving() {
      return serving;
    },
    get shuttingDown() {
      return shuttingDown;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    start() {
      timer ??= setInterval(() => void probe(), opts.intervalMs ?? DEFAULT_PROBE_INTERVAL_MS);
      timer.unref();
    },
    shutdown() {
      if (shuttingDown) return;
      shuttingDown = true;
      clearInterval(timer);
      const wasServing = serving;
      update();
      // Already NOT_SERVING (database down): update() saw no change, but Watch
      // streams still have to learn of the shutdown so they can end.
      if (!wasServing) for (const listener of listeners) listener(false);
    },
    probe,
  };
}
