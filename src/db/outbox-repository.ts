import type { ClaimedMail, OutboxRepository } from "../mail/outbox.js";
import type { Sql } from "./sql.js";

const LAST_ERROR_MAX = 500;

/** What a claim hands the dispatcher. */
const CLAIMED_COLUMNS = [
  "id",
  "kind",
  "recipient",
  "subject",
  "text_body",
  "html_body",
  "attempts",
  "created_at",
] as const;

/**
 * The mail outbox for the dispatcher, on MikroORM's kysely (see sql.ts).
 * The claim is one UPDATE … RETURNING, so a message goes from queued to
 * sending in a single atomic step:
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
export function createOutboxRepository(sql: Sql): OutboxRepository {
  const db = () => sql.db();

  /** An UPDATE of a message its owner still holds (claimed, not yet marked). */
  const held = (id: string, owner: string) =>
    db()
      .updateTable("mail_outbox")
      .where("id", "=", id)
      .where("claimed_by", "=", owner)
      .where("status", "=", "sending");

  const changedOne = (r: { numUpdatedRows: bigint }) => r.numUpdatedRows === 1n;

  return {
    async claim(req) {
      const now = sql.toDb(req.now);
      const rows = await db()
        .updateTable("mail_outbox")
        .set((eb) => ({
          status: "sending",
          claimed_by: req.owner,
          claimed_until: sql.toDb(req.claimUntil),
          attempts: eb("attempts", "+", 1),
        }))
        .where("id", "in", (eb) => {
          const due = eb
            .selectFrom("mail_outbox as m")
            .select("m.id")
            .where(({ eb, or, and }) =>
              or([
                and([eb("m.status", "=", "queued"), eb("m.next_attempt_at", "<=", now)]),
                and([eb("m.status", "=", "sending"), eb("m.claimed_until", "<", now)]),
              ]),
            )
            .orderBy("m.next_attempt_at")
            .limit(req.limit);
          return sql.dialect === "postgresql" ? due.forUpdate().skipLocked() : due;
        })
        .returning(CLAIMED_COLUMNS)
        .execute();
      return rows
        .map(
          (r): ClaimedMail => ({
            id: r.id,
            kind: r.kind,
            to: r.recipient,
            subject: r.subject,
            text: r.text_body,
            html: r.html_body,
            attempts: Number(r.attempts),
            createdAt: sql.date(r.created_at),
          }),
        )
        .sort((a, b) => +a.createdAt - +b.createdAt);
    },

    async markSent(id, owner, at) {
      return changedOne(
        await held(id, owner)
          .set({
            status: "sent",
            sent_at: sql.toDb(at),
            claimed_until: null,
            last_error: null,
            // The bodies hold a live link: gone once the message is out.
            text_body: "",
            html_body: "",
          })
          .executeTakeFirst(),
      );
    },

    async markRetry(id, owner, nextAttemptAt, lastError) {
      return changedOne(
        await held(id, owner)
          .set({
            status: "queued",
            next_attempt_at: sql.toDb(nextAttemptAt),
            claimed_until: null,
            claimed_by: null,
            last_error: lastError.slice(0, LAST_ERROR_MAX),
          })
          .executeTakeFirst(),
      );
    },

    async markFailed(id, owner, lastError) {
      return changedOne(
        await held(id, owner)
          .set({
            status: "failed",
            claimed_until: null,
            last_error: lastError.slice(0, LAST_ERROR_MAX),
            text_body: "",
            html_body: "",
          })
          .executeTakeFirst(),
      );
    },

    async purge(before) {
      const tokens = await db()
        .deleteFrom("account_tokens")
        .where("expires_at", "<", sql.toDb(before.tokensExpiredBefore))
        .executeTakeFirst();
      const mails = await db()
        .deleteFrom("mail_outbox")
        .where("status", "in", ["sent", "failed"])
        .where("created_at", "<", sql.toDb(before.finishedMailBefore))
        .executeTakeFirst();
      return Number(tokens.numDeletedRows + mails.numDeletedRows);
    },

    async oldestUnsent() {
      const r = await db()
        .selectFrom("mail_outbox")
        .select(({ fn }) => fn.min("created_at").as("oldest"))
        .where("status", "in", ["queued", "sending"])
        .executeTakeFirst();
      return r?.oldest === null || r?.oldest === undefined ? null : sql.date(r.oldest);
    },
  };
}
