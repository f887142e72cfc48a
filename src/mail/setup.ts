import { join } from "node:path";
import type { Registry } from "prom-client";
import type { Config } from "../config.js";
import { createOutboxRepository } from "../db/outbox-repository.js";
import { type DbGuard, guarded } from "../db/resilience.js";
import type { Sql } from "../db/sql.js";
import type { AccountMail, MailSignal } from "../domain/account-ports.js";
import type { Clock } from "../domain/ports.js";
import type { Logger } from "../logger.js";
import { createMailMetrics } from "../metrics/mail-metrics.js";
import type { Tracing } from "../tracing/tracing.js";
import { createMailComposer } from "./compose.js";
import { createMailDispatcher } from "./dispatcher.js";
import { createFileTransport, createSmtpTransport, type MailTransport } from "./transport.js";

export interface MailSystem {
  /** Renders the account messages (for createAccountService's `mail`). */
  readonly composer: AccountMail;
  /** Counts queued messages and wakes the dispatcher (for createAccountService's `mailSignal`). */
  readonly signal: MailSignal;
  /** Starts the dispatcher (call once the app serves). */
  start(): void;
  close(timeoutMs?: number): Promise<void>;
}

/**
 * Where mail goes: SMTP_URL if set; otherwise .eml files under
 * DATA_DIR/mail outside production, and nowhere in production (with a
 * warning, since reset and verification then cannot work).
 */
function chooseTransport(config: Config, logger: Logger): MailTransport | null {
  if (config.mail.smtpUrl) return createSmtpTransport(config.mail.smtpUrl, config.mail.from);
  if (config.env === "production") {
    logger.warn(
      "SMTP_URL is not set: password-reset and e-mail verification messages cannot be sent; they wait in the outbox (mail_outbox) until a replica with SMTP_URL sends them",
    );
    return null;
  }
  return createFileTransport(join(config.dataDir, "mail"), config.mail.from);
}

/** The mail side of the account lifecycle: composer, outbox dispatcher and its metrics. */
export function createMailSystem(deps: {
  readonly config: Config;
  readonly sql: Sql;
  readonly guard: DbGuard;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly tracing?: Tracing;
}): MailSystem {
  const { config, logger } = deps;
  const outbox = guarded(createOutboxRepository(deps.sql), deps.guard);
  const metrics = createMailMetrics(deps.registry);
  // The backlog gauge's input, read on a schedule of its own: it must move
  // in production without SMTP_URL too (no dispatcher then), which is when
  // it matters most. Unreachable outbox: the last value stays.
  const readBacklog = () => outbox.oldestUnsent().then(metrics.oldestUnsent, () => undefined);
  let backlogTimer: NodeJS.Timeout | undefined;
  const transport = chooseTransport(config, logger);
  const dispatcher = transport
    ? createMailDispatcher({
        outbox,
        transport,
        logger,
        clock: deps.clock,
        pollIntervalMs: config.mail.pollIntervalMs,
        retryBaseMs: config.mail.retryBaseMs,
        maxAttempts: config.mail.maxAttempts,
        maxAgeMs: config.mail.maxAgeSeconds * 1000,
        onSent: metrics.sent,
        onFailed: metrics.failed,
        tracing: deps.tracing,
      })
    : null;
  return {
    composer: createMailComposer({
      passwordResetUrl: config.mail.passwordResetUrl,
      emailVerificationUrl: config.mail.emailVerificationUrl,
      resetTokenTtlSeconds: config.mail.resetTokenTtlSeconds,
      verifyTokenTtlSeconds: config.mail.verifyTokenTtlSeconds,
    }),
    signal: { queued: metrics.queued, wake: () => dispatcher?.notify() },
    start() {
      void readBacklog();
      backlogTimer = setInterval(readBacklog, config.mail.pollIntervalMs);
      backlogTimer.unref();
      if (!dispatcher || !transport) return;
      dispatcher.start();
      logger.info("mail dispatcher started", { transport: transport.description, owner: dispatcher.owner });
    },
    async close(timeoutMs) {
      clearInterval(backlogTimer);
      await dispatcher?.close(timeoutMs);
    },
  };
}
