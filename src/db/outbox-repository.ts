import type { ClaimedMail, OutboxRepository } from "../mail/outbox.js";
import { AccountTokenEntity, MailOutboxEntity } from "./entities.js";
import type { Orm } from "./orm.js";

type Row = Record<string, unknown>;

const LAST_ERROR_MAX = 500;

/**
 * The mail outbox for the dispatcher. The claim is one UPDATE … RETURNING,
 * so a message goes from queued to sending in a single atomic step:
 *
 * - PostgreSQL: the candidate rows are picked with `FOR UPDATE SKIP
 *   LOCKED`, so concurrent claims from several replicas never wait on each
 *   other and never pick the same row: a row another claim has locked is
 *   skipped, and once that claim commits the row is no longer due.
 * - SQLite: there is one writer at a time. An UPDATE takes the database's
 *   write lock before it reads, so its subquery sees every earlier claim
 *   committed and no later claim can interleave; the conditional UPDATE is
 *   the whole protocol (other processes on the same file wait on
 *   busy_timeout).
 */
export function createOutboxRepository(orm: Orm, dialect: "sqlite" | "postgresql"): OutboxRepository {
  const em = () => orm.em.fork();
  const platform = orm.em.getPlatform();
  const toDb = (d: Date): unknown => platform.processDateProperty(d);
  const date = (v: unknown): Date =>
    v instanceof Date ? v : platform.parseDate(typeof v === "number" ? v : String(v));
  const lock = dialect === "postgresql" ? " for update skip locked" : "";

  const claimSql =
    "update mail_outbox set status = 'sending', claimed_by = ?, claimed_until = ?, attempts = attempts + 1" +
    " where id in (select id from mail_outbox" +
    " where (status = 'queued' and next_attempt_at <= ?) or (status = 'sending' and claimed_until < ?)" +
    ` order by next_attempt_at limit ?${lock})` +
    " returning id, kind, recipient, subject, text_body, html_body, attempts, created_at";

  const held = (id: string, owner: string) => ({ id, claimedBy: owner, status: "sending" });

  return {
    async claim(req) {
      const rows = await em().execute<Row[]>(
        claimSql,
        [req.owner, toDb(req.claimUntil), toDb(req.now), toDb(req.now), req.limit],
        "all",
      );
      return rows
        .map(
          (r): ClaimedMail => ({
            id: String(r.id),
            kind: String(r.kind),
            to: String(r.recipient),
            subject: String(r.subject),
            text: String(r.text_body),
            html: String(r.html_body),
            attempts: Number(r.attempts),
            createdAt: date(r.created_at),
          }),
        )
        .sort((a, b) => +a.createdAt - +b.createdAt);
    },

    async markSent(id, owner, at) {
      const changed = await em().nativeUpdate(MailOutboxEntity, held(id, owner), {
        status: "sent",
        sentAt: at,
        claimedUntil: null,
        lastError: null,
        textBody: "",
        htmlBody: "",
      });
      return changed === 1;
    },

    async markRetry(id, owner, nextAttemptAt, lastError) {
      const changed = await em().nativeUpdate(MailOutboxEntity, held(id, owner), {
        status: "queued",
        nextAttemptAt,
        claimedUntil: null,
        claimedBy: null,
        lastError: lastError.slice(0, LAST_ERROR_MAX),
      });
      return changed === 1;
    },

    async markFailed(id, owner, lastError) {
      const changed = await em().nativeUpdate(MailOutboxEntity, held(id, owner), {
        status: "failed",
        claimedUntil: null,
        lastError: lastError.slice(0, LAST_ERROR_MAX),
        textBody: "",
        htmlBody: "",
      });
      return changed === 1;
    },

    async purge(before) {
      const fork = em();
      const tokens = await fork.nativeDelete(AccountTokenEntity, { expiresAt: { $lt: before.tokensExpiredBefore } });
      const mails = await fork.nativeDelete(MailOutboxEntity, {
        status: { $in: ["sent", "failed"] },
        createdAt: { $lt: before.finishedMailBefore },
      });
      return tokens + mails;
    },

    async oldestUnsent() {
      const r = (await em().execute<Row>(
        "select min(created_at) as oldest from mail_outbox where status in ('queued', 'sending')",
        [],
        "get",
      )) as Row | undefined;
      return r?.oldest === null || r?.oldest === undefined ? null : date(r.oldest);
    },
  };
}
