import {
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  isTaskCancelledError,
  TaskCancelledError,
} from "cockatiel";
import { DomainError, isDomainError, serviceUnavailable } from "../domain/errors.js";
import { errorType, markFailed, startChildSpan } from "../tracing/spans.js";
import type { Tracing } from "../tracing/tracing.js";
import { isDataError, isInfrastructureError } from "./infra-errors.js";

export type BreakerState = "closed" | "open" | "half_open" | "isolated";

const STATE_NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half_open",
  [CircuitState.Isolated]: "isolated",
};

export interface DbGuardOptions {
  /** Upper bound of one repository call, connection wait included. */
  readonly timeoutMs: number;
  /** Consecutive infrastructure failures that open the circuit. */
  readonly breakerThreshold: number;
  /** How long the circuit stays open before one trial call may pass. */
  readonly halfOpenAfterMs: number;
  /**
   * Set only while tracing is on: each named call made during a traced call
   * becomes a CLIENT span, child of the call's span, started before the
   * breaker and the timeout so that refusals and timeouts show.
   */
  readonly tracing?: { readonly tracing: Tracing; readonly dbSystem: "sqlite" | "postgresql" };
}

/**
 * A timeout and a circuit breaker shared by every database call. Only
 * infrastructure failures (and timeouts) count towards the breaker: a
 * duplicate e-mail, or a value the database refuses (a NUL byte, a string
 * too long), is an answer from a healthy database about one request, not an
 * outage. Whatever the guard itself rejects with becomes SERVICE_UNAVAILABLE;
 * a refused value becomes VALIDATION_ERROR.
 */
export interface DbGuard {
  /** Runs one database call; `operation` (`users.findByEmail`) names its span while tracing. */
  run<T>(task: () => Promise<T>, operation?: string): Promise<T>;
  readonly state: BreakerState;
  /** Called after every state change; returns an unsubscribe function. */
  onStateChange(listener: (state: BreakerState) => void): () => void;
}

export function createDbGuard(opts: DbGuardOptions): DbGuard {
  const breaker = circuitBreaker(
    handleWhen((e) => isTaskCancelledError(e) || isInfrastructureError(e)),
    { halfOpenAfter: opts.halfOpenAfterMs, breaker: new ConsecutiveBreaker(opts.breakerThreshold) },
  );

  async function run<T>(task: () => Promise<T>): Promise<T> {
    try {
      return await breaker.execute(() => withDeadline(task, opts.timeoutMs));
    } catch (e) {
      if (isDomainError(e)) throw e;
      if (isDataError(e)) throw new DomainError("VALIDATION_ERROR", "invalid characters in request", { cause: e });
      if (isBrokenCircuitError(e) || isTaskCancelledError(e) || isInfrastructureError(e)) {
        throw serviceUnavailable(e);
      }
      throw e;
    }
  }

  const traced = opts.tracing;
  async function tracedRun<T>(task: () => Promise<T>, operation?: string): Promise<T> {
    const span =
      traced &&
      operation !== undefined &&
      startChildSpan(traced.tracing, `db.${operation}`, {
        kind: "client",
        attributes: { "db.system.name": traced.dbSystem, "db.operation.name": operation },
      });
    if (!span) return run(task);
    try {
      return await run(task);
    } catch (e) {
      // The guard's own refusals by name; otherwise the domain reason or the driver error's class.
      const cause = isDomainError(e) ? e.cause : undefined;
      markFailed(
        span,
        isBrokenCircuitError(cause) ? "circuit_open" : isTaskCancelledError(cause) ? "timeout" : errorType(e),
      );
      throw e;
    } finally {
      span.end();
    }
  }

  return {
    // Tracing off: the plain function, not a check per call.
    run: traced ? tracedRun : run,
    get state() {
      return STATE_NAMES[breaker.state];
    },
    onStateChange(listener) {
      const sub = breaker.onStateChange((s) => listener(STATE_NAMES[s]));
      return () => sub.dispose();
    },
  };
}

/**
 * The caller gets its answer at the deadline even when the driver is stuck on
 * a connection that never answers (cockatiel's aggressive timeout, which the
 * breaker counts as a TaskCancelledError). Written out rather than cockatiel's
 * timeout policy: no task reads an abort signal, and the policy's
 * AbortController, abort listener and Promise.race were most of what the
 * guard added to every database call (measured in bench/RESULTS.md).
 */
function withDeadline<T>(start: () => Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // Armed before the work starts. The driver sets timers of its own for the
    // same span (PostgreSQL's connect timeout is this deadline too); timers of
    // equal length fire in the order they were set, so when the database does
    // not answer in time the caller always learns it as this timeout, never as
    // whichever of the driver's errors happened to come first.
    const timer = setTimeout(() => reject(new TaskCancelledError(`Operation timed out after ${ms}ms`)), ms);
    let work: Promise<T>;
    try {
      work = start();
    } catch (e) {
      clearTimeout(timer);
      reject(e);
      return;
    }
    work.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

type AsyncMethods<T> = { [K in keyof T]: (...args: never[]) => Promise<unknown> };

/**
 * Returns a copy of a repository whose every method runs under the guard.
 * Works method by method so that the domain keeps seeing its own port type.
 * `name` (`users`) prefixes the method in the span of each call
 * (`db.users.findByEmail`).
 */
export function guarded<T extends AsyncMethods<T>>(repository: T, guard: DbGuard, name?: string): T {
  const methods = repository as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const out: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const [key, method] of Object.entries(methods)) {
    const operation = name === undefined ? key : `${name}.${key}`;
    out[key] = (...args) => guard.run(() => method.apply(repository, args), operation);
  }
  return out as unknown as T;
}
