import { DomainError } from "../domain/errors.js";

/**
 * Bounds how many password hashes run at once. A flood of logins otherwise
 * fills libuv's thread pool, which DNS, file and some crypto calls share, and
 * starves cheap calls. Waiters queue in order; one that waits longer than the
 * deadline fails with SERVICE_UNAVAILABLE instead of piling up, and once
 * `maxQueue` wait, the next is refused at once with RATE_LIMITED: a flood
 * then costs neither memory nor the wait of the deadline.
 */
export interface HashLimiter {
  run<T>(task: () => Promise<T>): Promise<T>;
  readonly active: number;
  readonly queued: number;
}

export function createHashLimiter(
  concurrency: number,
  queueTimeoutMs: number,
  maxQueue = Number.POSITIVE_INFINITY,
): HashLimiter {
  let active = 0;
  const waiting: Array<{ start: () => void; timer: NodeJS.Timeout }> = [];

  const release = () => {
    active--;
    const next = waiting.shift();
    if (next) {
      clearTimeout(next.timer);
      next.start();
    }
  };

  return {
    get active() {
      return active;
    },
    get queued() {
      return waiting.length;
    },
    run<T>(task: () => Promise<T>): Promise<T> {
      const start = () => {
        active++;
        return task().finally(release);
      };
      if (active < concurrency) return start();
      if (waiting.length >= maxQueue) {
        return Promise.reject(
          new DomainError("RATE_LIMITED", "too many requests at once; try again later", { retryAfterMs: 1000 }),
        );
      }
      return new Promise<T>((resolve, reject) => {
        const entry = {
          start: () => void start().then(resolve, reject),
          timer: setTimeout(() => {
            const i = waiting.indexOf(entry);
            if (i >= 0) waiting.splice(i, 1);
            reject(
              new DomainError("SERVICE_UNAVAILABLE", "service is busy, try again later", {
                retryAfterMs: 1000,
              }),
            );
          }, queueTimeoutMs),
        };
        waiting.push(entry);
      });
    },
  };
}
