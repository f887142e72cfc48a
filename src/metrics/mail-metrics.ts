import { Counter, Gauge, type Registry } from "prom-client";
import type { MailKind } from "../domain/account-ports.js";

export interface MailMetrics {
  queued(kind: MailKind): void;
  sent(kind: string): void;
  failed(kind: string): void;
  /** The oldest message neither sent nor given up, as last read from the outbox (null: none). */
  oldestUnsent(queuedAt: Date | null): void;
}

/**
 * The outbox's metrics, in the app's registry. The counters are per replica
 * (sum them). The age gauge is computed at scrape time from the oldest
 * unsent message's time, which the mail system reads from the shared outbox
 * on its own schedule (every MAIL_POLL_INTERVAL_MS), so every replica
 * reports about the same value and a scrape never queries the database:
 * /metrics is unauthenticated, and a scrape must cost nothing but CPU.
 */
export function createMailMetrics(registry: Registry): MailMetrics {
  const registers = [registry];
  const queued = new Counter({
    name: "warden_mail_queued_total",
    help: "Messages written to the mail outbox by this replica, by kind.",
    labelNames: ["kind"] as const,
    registers,
  });
  const sent = new Counter({
    name: "warden_mail_sent_total",
    help: "Messages this replica handed to the mail server (or wrote to a file), by kind.",
    labelNames: ["kind"] as const,
    registers,
  });
  const failed = new Counter({
    name: "warden_mail_failed_total",
    help: "Messages this replica gave up on (attempts or age exhausted), by kind.",
    labelNames: ["kind"] as const,
    registers,
  });
  let oldest: Date | null = null;
  new Gauge({
    name: "warden_mail_oldest_unsent_age_seconds",
    help: "Age of the oldest message in the outbox that is neither sent nor given up (read every MAIL_POLL_INTERVAL_MS); 0 when there is none.",
    registers,
    collect() {
      this.set(oldest ? Math.max(0, (Date.now() - +oldest) / 1000) : 0);
    },
  });
  return {
    queued: (kind) => queued.inc({ kind }),
    sent: (kind) => sent.inc({ kind }),
    failed: (kind) => failed.inc({ kind }),
    oldestUnsent: (queuedAt) => {
      oldest = queuedAt;
    },
  };
}
