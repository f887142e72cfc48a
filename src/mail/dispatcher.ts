import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Clock } from "../domain/ports.js";
import { outsideAnyCall } from "../log-context.js";
import { describeError, type Logger } from "../logger.js";
import { withSpan } from "../tracing/spans.js";
import type { Tracing } from "../tracing/tracing.js";
import type { ClaimedMail, OutboxRepository } from "./outbox.js";
import { describeSendError, type MailTransport } from "./transport.js";

export interface MailDispatcherOptions {
  readonly outbox: OutboxRepository;
  readonly transport: MailTransport;
  readonly logger: Logger;
  readonly clock: Clock;
  /** How often the outbox is looked at without a wake-up (messages queued by other replicas, retries). */
  readonly pollIntervalMs: number;
  /** Attempts per message before it is given up. */
  readonly maxAttempts: number;
  /** Age after which a message is given up, sent or not (its link has expired or soon will). */
  readonly maxAgeMs: number;
  /** First retry delay; doubles with each attempt up to `retryMaxMs`. */
  readonly retryBaseMs: number;
  readonly retryMaxMs?: number;
  /** Messages claimed (and sent side by side) at a time. */
  readonly batchSize?: number;
  /** How long a claim holds: longer than any send takes, so only a dead replica's claims run out. */
  readonly claimTtlMs?: number;
  readonly onSent?: (kind: string) => void;
  readonly onFailed?: (kind: string) => void;
  /** When set, each send is a `mail.send` CLIENT span (the root of its own trace: no call is waiting on it). */
  readonly tracing?: Tracing;
}

export interface MailDispatcher {
  /** This dispatcher's claim owner id (host, pid and a random part). */
  readonly owner: string;
  /** Starts polling, and looks at the outbox once right away (mail left from before a restart). */
  start(): void;
  /** A message was just queued in this process: look shortly (once its answer is out). Never waits, never throws. */
  notify(): void;
  /**
   * Stops polling and waits (at most `timeoutMs`) for the pass in progress.
   * Claims of messages not yet sent run out and another replica, or the
   * next start, takes them.
   */
  close(timeoutMs?: number): Promise<void>;
}

const DEFAULT_RETRY_MAX_MS = 5 * 60_000;
/** Housekeeping runs at most this often per replica. */
const PURGE_EVERY_MS = 3600_000;
/** Expired tokens stay a day (so a late click still says TOKEN_EXPIRED), finished messages a week. */
const TOKEN_RETENTION_MS = 24 * 3600_000;
const MAIL_RETENTION_MS = 7 * 24 * 3600_000;
const DEFAULT_BATCH = 10;
const DEFAULT_CLAIM_TTL_MS = 5 * 60_000;
/** How long after a notify() the dispatcher looks: long enough for the answer to be sent first. */
const NOTIFY_DELAY_MS = 100;

/**
 * Sends what the outbox holds. Calls that queue mail never wait on it: they
 * commit the row and notify(); the dispatcher claims due messages (atomically
 * across replicas, see outbox-repository.ts), sends them through the
 * transport, and marks each sent, due again later (exponential backoff with
 * jitter) or failed once it has used `maxAttempts` or is older than
 * `maxAgeMs`. Delivery is at least once: only a replica that dies after the
 * server took a message but before marking it sent causes a second copy
 * (with the same Message-ID).
 *
 * Log lines name the message id, kind and attempt, never the recipient's
 * link, the body or the SMTP credentials.
 */
export function createMailDispatcher(opts: MailDispatcherOptions): MailDispatcher {
  const { outbox, transport, logger, clock } = opts;
  const owner = `${hostname().slice(0, 40)}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const batchSize = opts.batchSize ?? DEFAULT_BATCH;
  const claimTtlMs = opts.claimTtlMs ?? DEFAULT_CLAIM_TTL_MS;
  const retryMaxMs = opts.retryMaxMs ?? DEFAULT_RETRY_MAX_MS;

  let started = false;
  let closed = false;
  let running: Promise<void> | null = null;
  let again = false;
  let timer: NodeJS.Timeout | null = null;
  let timerAt = Number.POSITIVE_INFINITY;
  let outboxFailing = false;
  let lastPurge = 0;

  /** Runs a pass at most `delayMs` from now (an earlier pending wake-up is kept). */
  function wakeIn(delayMs: number) {
    if (closed) return;
    const at = Date.now() + delayMs;
    if (timer && timerAt <= at) return;
    if (timer) clearTimeout(timer);
    timerAt = at;
    // A wake-up asked for by a call (notify) must not run as part of that
    // call: the pass's log lines and its mail.send spans belong to no request.
    timer = setTimeout(() => {
      timer = null;
      timerAt = Number.POSITIVE_INFINITY;
      outsideAnyCall(kick);
    }, delayMs);
    // Polling alone never keeps the process alive.
    timer.unref();
  }

  /** One pass at a time; a wake-up during a pass runs another right after it. */
  function kick() {
    if (closed || !started) return;
    if (running) {
      again = true;
      return;
    }
    running = pass().finally(() => {
      running = null;
      if (again) {
        again = false;
        kick();
      } else wakeIn(opts.pollIntervalMs);
    });
  }

  async function pass(): Promise<void> {
    for (;;) {
      let batch: ClaimedMail[];
      try {
        const now = clock.now();
        batch = await outbox.claim({ owner, now, claimUntil: new Date(+now + claimTtlMs), limit: batchSize });
        if (outboxFailing) logger.info("mail outbox reachable again");
        outboxFailing = false;
      } catch (e) {
        // Once per outage, not once per poll.
        if (!outboxFailing) logger.warn("mail outbox unavailable; will retry", describeError(e));
        outboxFailing = true;
        return;
      }
      if (batch.length === 0) return purgeNowAndThen();
      await Promise.all(batch.map(deliver));
      if (batch.length < batchSize || closed) return;
    }
  }

  /** Old tokens and finished messages go, at most hourly, when the dispatcher has nothing to send. */
  async function purgeNowAndThen(): Promise<void> {
    if (Date.now() - lastPurge < PURGE_EVERY_MS) return;
    lastPurge = Date.now();
    const now = +clock.now();
    try {
      const removed = await outbox.purge({
        tokensExpiredBefore: new Date(now - TOKEN_RETENTION_MS),
        finishedMailBefore: new Date(now - MAIL_RETENTION_MS),
      });
      if (removed > 0) logger.debug("outbox housekeeping", { removed_rows: removed });
    } catch (e) {
      logger.warn("outbox housekeeping failed", describeError(e));
    }
  }

  const backoffMs = (attempts: number) => {
    const exponential = Math.min(retryMaxMs, opts.retryBaseMs * 2 ** Math.max(0, attempts - 1));
    // ±20 %: replicas that failed together do not retry in lockstep.
    return Math.round(exponential * (0.8 + Math.random() * 0.4));
  };

  async function deliver(mail: ClaimedMail): Promise<void> {
    const fields = { mail_id: mail.id, kind: mail.kind, attempt: mail.attempts };
    try {
      const age = +clock.now() - +mail.createdAt;
      if (age >= opts.maxAgeMs) {
        await giveUp(mail, "expired before it could be sent", fields);
        return;
      }
      try {
        // The span says which message and attempt, never who it is for or what it says.
        await withSpan(opts.tracing, "mail.send", () => transport.send(mail), {
          kind: "client",
          attributes: { "mail.kind": mail.kind, "mail.id": mail.id, "mail.attempt": mail.attempts },
        });
      } catch (e) {
        const error = describeSendError(e);
        const errorFields = { ...fields, error_code: error.code, smtp_code: error.smtpCode };
        const delay = backoffMs(mail.attempts);
        if (mail.attempts >= opts.maxAttempts || age + delay >= opts.maxAgeMs) {
          await giveUp(mail, error.summary, errorFields);
          return;
        }
        const next = new Date(+clock.now() + delay);
        if (await outbox.markRetry(mail.id, owner, next, error.summary)) {
          logger.info("mail send failed; will retry", { ...errorFields, retry_in_ms: delay });
          wakeIn(delay);
        }
        return;
      }
      if (await outbox.markSent(mail.id, owner, clock.now())) {
        opts.onSent?.(mail.kind);
        logger.info("mail sent", fields);
      } else {
        logger.warn("mail sent after its claim ran out", fields);
      }
    } catch (e) {
      // The outbox failed while marking: the claim runs out and the message
      // is taken again (possibly sent twice; see above).
      logger.warn("mail outbox update failed", { ...fields, ...describeError(e) });
    }
  }

  async function giveUp(mail: ClaimedMail, why: string, fields: Record<string, unknown>) {
    if (await outbox.markFailed(mail.id, owner, why)) {
      opts.onFailed?.(mail.kind);
      logger.warn("mail given up", { ...fields, max_attempts: opts.maxAttempts });
    }
  }

  return {
    owner,
    start() {
      if (started || closed) return;
      started = true;
      kick();
    },
    notify() {
      // Not on the caller's turn, nor the next: the reply must be on the
      // wire before the claim, composing and sending start, or a reset for a
      // known address answers later than one for an unknown address (over
      // the network, by ~15 ms on PostgreSQL with an immediate wake-up).
      if (started && !closed) wakeIn(NOTIFY_DELAY_MS);
    },
    async close(timeoutMs = 5000) {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      if (running) {
        let bound: NodeJS.Timeout | undefined;
        await Promise.race([running, new Promise((resolve) => (bound = setTimeout(resolve, timeoutMs)))]);
        clearTimeout(bound);
      }
      transport.close();
    },
  };
}
