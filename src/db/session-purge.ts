import type { PurgeCounts } from "../domain/ports.js";
import { describeError, type Logger } from "../logger.js";

export interface PurgeJob {
  /** Stops the schedule and waits for a run in progress, so the database can close after it. */
  stop(): Promise<void>;
}

/**
 * Runs the session purge (AuthService.purgeSessions: expired seals, expired
 * refresh tokens, ended sessions) every `intervalMs`, one run at a time, each
 * bounded in rows. A failed run is logged and retried at the next tick; the
 * timer never keeps the process alive. `intervalMs` 0 disables it.
 */
export function startSessionPurge(run: () => Promise<PurgeCounts>, intervalMs: number, logger: Logger): PurgeJob {
  if (intervalMs <= 0) return { stop: async () => undefined };
  let running: Promise<void> | undefined;
  const tick = () => {
    if (running) return;
    running = run()
      .then((n) => {
        if (n.sealsCleared + n.tokensDeleted + n.sessionsDeleted > 0) {
          logger.debug("session purge", {
            // (Field names steer clear of the logger's secret-looking words.)
            cleared_grace_windows: n.sealsCleared,
            deleted_refresh_rows: n.tokensDeleted,
            deleted_sessions: n.sessionsDeleted,
          });
        }
      })
      .catch((e: unknown) => {
        logger.warn("session purge failed", describeError(e));
      })
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
