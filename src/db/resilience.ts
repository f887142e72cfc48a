import {
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  isBrokenCircuitError,
  isTaskCancelledError,
  TimeoutStrategy,
  timeout,
  wrap,
} from "cockatiel";
import { DomainError, isDomainError, serviceUnavailable } from "../domain/errors.js";
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
  run<T>(task: () => Promise<T>): Promise<T>;
  readonly state: BreakerState;
  /** Called after every state change; returns an unsubscribe function. */
  onStateChange(listener: (state: BreakerState) => void): () => void;
}

export function createDbGuard(opts: DbGuardOptions): DbGuard {
  const breaker = circuitBreaker(
    handleWhen((e) => isTaskCancelledError(e) || isInfrastructureError(e)),
    { halfOpenAfter: opts.halfOpenAfterMs, breaker: new ConsecutiveBreaker(opts.breakerThreshold) },
  );
  // Aggressive: the caller gets its answer at the deadline even when the
  // driver is stuck on a connection that never answers.
  // No task reads the abort signal, and aborting it after every call
  // allocates a DOMException with a stack trace: measurable on hot paths.
  const deadline = timeout(opts.timeoutMs, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false });
  const policy = wrap(breaker, deadline);

  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      try {
        return await policy.execute(() => task());
      } catch (e) {
        if (isDomainError(e)) throw e;
        if (isDataError(e)) throw new DomainError("VALIDATION_ERROR", "invalid characters in request", { cause: e });
        if (isBrokenCircuitError(e) || isTaskCancelledError(e) || isInfrastructureError(e)) {
          throw serviceUnavailable(e);
        }
        throw e;
      }
    },
    get state() {
      return STATE_NAMES[breaker.state];
    },
    onStateChange(listener) {
      const sub = breaker.onStateChange((s) => listener(STATE_NAMES[s]));
      return () => sub.dispose();
    },
  };
}

type AsyncMethods<T> = { [K in keyof T]: (...args: never[]) => Promise<unknown> };

/**
 * Returns a copy of a repository whose every method runs under the guard.
 * Works method by method so that the domain keeps seeing its own port type.
 */
export function guarded<T extends AsyncMethods<T>>(repository: T, guard: DbGuard): T {
  const methods = repository as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const out: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const [key, method] of Object.entries(methods)) {
    out[key] = (...args) => guard.run(() => method.apply(repository, args));
  }
  return out as unknown as T;
}
