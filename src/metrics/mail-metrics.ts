import { Counter, Gauge, type Registry } from "prom-client";
import type { MailKind } from "../domain/account-ports.js";

export interface MailMetrics {
  queued(kind: MailKind): void;
  sent(kind: string): void;
  failed(kind: string): void;
}

/**
 * The outbox's metrics, in the app's registry. The counters are per replica
 * (sum them); the age gauge reads the shared outbox on each scrape, so every
 * replica reports the same value. A scrape never fails because the
 * database does: the gauge then keeps its last value.
 */
export function createMailMetrics(registry: Registry, oldestUnsent: () => Promise<Date | null>): MailMetrics {
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
  new Gauge({
    name: "warden_mail_oldest_unsent_age_seconds",
    help: "Age of the oldest message in the outbox that is neither sent nor given up; 0 when there is none.",
    registers,
    async collect() {
      try {
        const oldest = await oldestUnsent();
        this.set(oldest ? Math.max(0, (Date.now() - +oldest) / 1000) : 0);
      } catch {
        // Keep the last value; the database's state has metrics of its own.
      }
    },
  });
  return {
    queued: (kind) => queued.inc({ kind }),
    sent: (kind) => sent.inc({ kind }),
    failed: (kind) => failed.inc({ kind }),
  };
}
