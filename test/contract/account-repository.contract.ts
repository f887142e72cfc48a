import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createAccountRepository } from "../../src/db/account-repository.js";
import { SessionEntity, UserEntity } from "../../src/db/entities.js";
import type { Orm } from "../../src/db/orm.js";
import { createOutboxRepository } from "../../src/db/outbox-repository.js";
import { createSql } from "../../src/db/sql.js";
import type { AccountRepository, NewOneTimeToken, OutgoingMail } from "../../src/domain/account-ports.js";
import { hashOneTimeToken, newOneTimeToken } from "../../src/domain/one-time-tokens.js";
import type { OutboxRepository } from "../../src/mail/outbox.js";

/** A fresh, migrated database and a way to open a second, independent connection to it (another "replica"). */
export interface ContractDatabase {
  readonly kind: "sqlite" | "postgresql";
  readonly orm: Orm;
  openAnother(): Promise<Orm>;
  close(): Promise<void>;
}

const HOUR = 3600_000;
const T0 = new Date("2026-06-01T12:00:00Z");
const at = (ms: number) => new Date(+T0 + ms);

const mailTo = (to: string): OutgoingMail => ({
  kind: "password_reset",
  to,
  subject: "Reset your password",
  text: "text body",
  html: "<p>html body</p>",
});

const tokenRow = (purpose: "reset" | "verify", createdAt = T0, ttl = HOUR): NewOneTimeToken & { token: string } => {
  const token = newOneTimeToken();
  return { token, tokenHash: hashOneTimeToken(token), purpose, createdAt, expiresAt: new Date(+createdAt + ttl) };
};

const allowance = { max: 3, since: at(-HOUR) };

/**
 * The contract of the account and outbox repositories, run against each
 * database kind by account-repository.test.ts. Rows are set up with the ORM
 * entities directly, so the suite depends on nothing but the schema.
 */
export function accountRepositoryContract(open: () => Promise<ContractDatabase>): void {
  let db: ContractDatabase;
  let repo: AccountRepository;
  let outbox: OutboxRepository;

  beforeAll(async () => {
    db = await open();
    const sql = createSql(db.orm, db.kind);
    repo = createAccountRepository(sql);
    outbox = createOutboxRepository(sql);
  });
  afterAll(() => db?.close());

  async function makeUser(opts: { active?: boolean; verified?: boolean } = {}) {
    const em = db.orm.em.fork();
    const id = randomUUID().slice(0, 8);
    const user = em.create(UserEntity, {
      email: `c-${id}@example.com`,
      username: `c_${id}`,
      usernameKey: `c_${id}`,
      passwordHash: "old-hash",
      isActive: opts.active ?? true,
      emailVerified: opts.verified ?? false,
    });
    await em.flush();
    return user;
  }

  async function makeSession(userId: string, createdAt: Date, opts: { expiresAt?: Date; revokedAt?: Date } = {}) {
    const em = db.orm.em.fork();
    const s = em.create(SessionEntity, {
      user: em.getReference(UserEntity, userId),
      createdAt,
      expiresAt: opts.expiresAt ?? at(24 * HOUR),
      revokedAt: opts.revokedAt ?? null,
    });
    await em.flush();
    return s.id;
  }

  const countRows = async (table: string, where: string, params: unknown[]) => {
    const r = (await db.orm.em
      .fork()
      .execute(`select count(*) as n from ${table} where ${where}`, params, "get")) as Record<string, unknown>;
    return Number(r.n);
  };
  const userRows = (table: string, userId: string) => countRows(table, "user_id = ?", [userId]);

  it("when a reset is queued for an active account's e-mail, then the token and its message are written together", async () => {
    const user = await makeUser();
    const t = tokenRow("reset");
    expect(await repo.queueForEmail(user.email, t, mailTo(user.email), allowance)).toBe(user.id);
    expect(await userRows("account_tokens", user.id)).toBe(1);
    expect(await countRows("mail_outbox", "user_id = ? and status = 'queued'", [user.id])).toBe(1);
    const found = await repo.findToken(t.tokenHash);
    expect(found).toMatchObject({ purpose: "reset", usedAt: null, user: { id: user.id, isActive: true } });
    expect(+(found?.expiresAt ?? 0)).toBe(+t.expiresAt);
  });

  it("when a reset is queued for an unknown or a deactivated address, then no message and only an unusable token row are written", async () => {
    const inactive = await makeUser({ active: false });
    const before = await countRows("mail_outbox", "1 = 1", []);
    const ghost = tokenRow("reset");
    expect(await repo.queueForEmail("nobody-here@example.com", ghost, mailTo("x@y.z"), allowance)).toBe(null);
    expect(await repo.queueForEmail(inactive.email, tokenRow("reset"), mailTo(inactive.email), allowance)).toBe(null);
    expect(await countRows("mail_outbox", "1 = 1", [])).toBe(before);
    expect(await userRows("account_tokens", inactive.id)).toBe(0);
    // The row written for the unknown address belongs to no one and can never be redeemed.
    expect(await countRows("account_tokens", "token_hash = ? and user_id is null", [ghost.tokenHash])).toBe(1);
    expect(await repo.findToken(ghost.tokenHash)).toBeNull();
  });

  it("when an account is at its allowance, then further requests write nothing until older tokens leave the window", async () => {
    const user = await makeUser();
    // One token from before the window does not count.
    await repo.queueForEmail(user.email, tokenRow("reset", at(-2 * HOUR)), mailTo(user.email), {
      max: 3,
      since: at(-3 * HOUR),
    });
    for (let i = 0; i < 3; i++) {
      expect(await repo.queueForEmail(user.email, tokenRow("reset"), mailTo(user.email), allowance)).toBe(user.id);
    }
    expect(await repo.queueForEmail(user.email, tokenRow("reset"), mailTo(user.email), allowance)).toBe(null);
    expect(await userRows("mail_outbox", user.id)).toBe(4);
    // Verification has an allowance of its own.
    expect(await repo.queueForUser(user.id, tokenRow("verify"), mailTo(user.email), allowance)).toBe(true);
  });

  it("when verification mail is queued for a verified account, then nothing is written", async () => {
    const user = await makeUser({ verified: true });
    expect(await repo.queueForUser(user.id, tokenRow("verify"), mailTo(user.email), allowance)).toBe(false);
    expect(await userRows("mail_outbox", user.id)).toBe(0);
  });

  it("when two redemptions of one reset token race, then exactly one wins, and it sets the password, verifies the e-mail and ends every session", async () => {
    const user = await makeUser();
    const sessions = [await makeSession(user.id, at(-HOUR)), await makeSession(user.id, at(-2 * HOUR))];
    const t = tokenRow("reset");
    const other = tokenRow("reset");
    await repo.queueForEmail(user.email, t, mailTo(user.email), allowance);
    await repo.queueForEmail(user.email, other, mailTo(user.email), allowance);
    const results = await Promise.all(
      [0, 1, 2].map(() =>
        repo.redeemPasswordReset({ tokenHash: t.tokenHash, userId: user.id, passwordHash: "new-hash", at: T0 }),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const account = await repo.findAccount(user.id);
    expect(account).toMatchObject({ passwordHash: "new-hash", user: { emailVerified: true } });
    expect(await repo.listOpenSessions(user.id, T0)).toEqual([]);
    expect(await countRows("sessions", "user_id = ? and revoked_at is not null", [user.id])).toBe(sessions.length);
    // The other link mailed earlier died with it.
    expect((await repo.findToken(other.tokenHash))?.usedAt).not.toBeNull();
  });

  it("when a token is expired, of the other purpose, or unknown, then redemption changes nothing", async () => {
    const user = await makeUser();
    const t = tokenRow("reset");
    await repo.queueForEmail(user.email, t, mailTo(user.email), allowance);
    const late = at(HOUR);
    expect(
      await repo.redeemPasswordReset({ tokenHash: t.tokenHash, userId: user.id, passwordHash: "x", at: late }),
    ).toBe(false);
    expect(await repo.redeemEmailVerification({ tokenHash: t.tokenHash, userId: user.id, at: T0 })).toBe(false);
    expect(await repo.redeemEmailVerification({ tokenHash: hashOneTimeToken("nope"), userId: user.id, at: T0 })).toBe(
      false,
    );
    expect(await repo.findAccount(user.id)).toMatchObject({ passwordHash: "old-hash", user: { emailVerified: false } });
    expect((await repo.findToken(t.tokenHash))?.usedAt).toBeNull();
  });

  it("when a verification token is redeemed, then the e-mail is verified and the token is used", async () => {
    const user = await makeUser();
    const t = tokenRow("verify", T0, 24 * HOUR);
    expect(await repo.queueForUser(user.id, t, mailTo(user.email), allowance)).toBe(true);
    expect(await repo.redeemEmailVerification({ tokenHash: t.tokenHash, userId: user.id, at: T0 })).toBe(true);
    expect(await repo.redeemEmailVerification({ tokenHash: t.tokenHash, userId: user.id, at: T0 })).toBe(false);
    expect((await repo.findAccount(user.id))?.user.emailVerified).toBe(true);
  });

  it("when the password is changed, then every other open session ends, the kept one stays, and pending reset links die", async () => {
    const user = await makeUser();
    const keep = await makeSession(user.id, at(-HOUR));
    await makeSession(user.id, at(-2 * HOUR));
    await makeSession(user.id, at(-3 * HOUR));
    await makeSession(user.id, at(-4 * HOUR), { expiresAt: at(-HOUR) }); // expired: not counted
    const t = tokenRow("reset");
    await repo.queueForEmail(user.email, t, mailTo(user.email), allowance);
    const revoked = await repo.changePassword({
      userId: user.id,
      passwordHash: "changed",
      keepSessionId: keep,
      at: T0,
    });
    expect(revoked).toBe(2);
    expect((await repo.listOpenSessions(user.id, T0)).map((s) => s.id)).toEqual([keep]);
    expect((await repo.findAccount(user.id))?.passwordHash).toBe("changed");
    expect((await repo.findToken(t.tokenHash))?.usedAt).not.toBeNull();
  });

  it("when sessions are listed, then only open ones come, newest first, with their details", async () => {
    const user = await makeUser();
    const older = await makeSession(user.id, at(-2 * HOUR));
    const newer = await makeSession(user.id, at(-HOUR));
    await makeSession(user.id, at(-30 * 60_000), { revokedAt: at(-60_000) });
    await makeSession(user.id, at(-3 * HOUR), { expiresAt: at(-1) });
    const list = await repo.listOpenSessions(user.id, T0);
    expect(list.map((s) => s.id)).toEqual([newer, older]);
    expect(list[0]).toMatchObject({ lastUsedAt: null, clientAddress: null, userAgent: null });
  });

  it("when a session is revoked by someone else or twice, then it is not found; by its user, then it ends", async () => {
    const user = await makeUser();
    const stranger = await makeUser();
    const s = await makeSession(user.id, at(-HOUR));
    expect(await repo.revokeSession(stranger.id, s, T0)).toBe(false);
    expect(await repo.revokeSession(user.id, s, T0)).toBe(true);
    expect(await repo.revokeSession(user.id, s, T0)).toBe(false);
    const keep = await makeSession(user.id, at(-HOUR));
    await makeSession(user.id, at(-2 * HOUR));
    expect(await repo.revokeOtherSessions(user.id, keep, T0)).toBe(1);
    expect(await repo.revokeOtherSessions(user.id, keep, T0)).toBe(0);
  });

  it("when an account is deleted, then the user and every row of theirs are gone, and only theirs", async () => {
    const user = await makeUser();
    const bystander = await makeUser();
    const s = await makeSession(user.id, at(-HOUR));
    await makeSession(bystander.id, at(-HOUR));
    await db.orm.em
      .fork()
      .execute(
        "insert into refresh_tokens (token_hash, session_id, created_at, expires_at) values (?, ?, ?, ?)",
        [
          hashOneTimeToken(newOneTimeToken()),
          s,
          db.orm.em.getPlatform().processDateProperty(T0),
          db.orm.em.getPlatform().processDateProperty(at(HOUR)),
        ],
        "run",
      );
    const t = tokenRow("reset");
    await repo.queueForEmail(user.email, t, mailTo(user.email), allowance);
    await repo.queueForEmail(bystander.email, tokenRow("reset"), mailTo(bystander.email), allowance);
    expect(await repo.deleteAccount(user.id)).toBe(true);
    expect(await repo.findAccount(user.id)).toBeNull();
    expect(await repo.findToken(t.tokenHash)).toBeNull();
    for (const table of ["sessions", "account_tokens", "mail_outbox"]) expect(await userRows(table, user.id)).toBe(0);
    expect(await countRows("refresh_tokens", "session_id = ?", [s])).toBe(0);
    expect(await userRows("sessions", bystander.id)).toBe(1);
    expect(await userRows("mail_outbox", bystander.id)).toBe(1);
    expect(await repo.deleteAccount(user.id)).toBe(false);
  });

  it("when two replicas claim 20 due messages at once, then each message is claimed by exactly one of them", async () => {
    // Leave nothing else due in the outbox first.
    await db.orm.em.fork().execute("update mail_outbox set status = 'sent'", [], "run");
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const user = await makeUser();
      await repo.queueForEmail(user.email, tokenRow("reset"), mailTo(user.email), allowance);
      ids.push(user.id);
    }
    const second = await db.openAnother();
    try {
      const replicas = [outbox, createOutboxRepository(createSql(second, db.kind))];
      const claimedBy = new Map<string, string>();
      const now = new Date(Date.now() + 1000);
      // Several rounds of small, concurrent claims from both replicas.
      for (let round = 0; round < 10 && claimedBy.size < 20; round++) {
        const batches = await Promise.all(
          replicas.flatMap((r, n) =>
            [0, 1].map(async () => ({
              owner: `replica-${n}`,
              mails: await r.claim({ owner: `replica-${n}`, now, claimUntil: new Date(+now + HOUR), limit: 3 }),
            })),
          ),
        );
        for (const { owner, mails } of batches) {
          for (const m of mails) {
            expect(claimedBy.has(m.id), `message ${m.id} claimed twice`).toBe(false);
            claimedBy.set(m.id, owner);
            expect(m.attempts).toBe(1);
          }
        }
      }
      expect(claimedBy.size).toBe(20);
    } finally {
      await second.close(true);
    }
  });

  it("when a claim is held, then only its owner can mark the message, sending erases the bodies, and a lapsed claim can be taken over", async () => {
    await db.orm.em.fork().execute("update mail_outbox set status = 'sent'", [], "run");
    const user = await makeUser();
    await repo.queueForEmail(user.email, tokenRow("reset"), mailTo(user.email), allowance);
    const now = new Date();
    expect(await outbox.oldestUnsent()).not.toBeNull();
    const [mail] = await outbox.claim({ owner: "a", now, claimUntil: new Date(+now + 60_000), limit: 5 });
    expect(mail).toMatchObject({ to: user.email, kind: "password_reset", text: "text body", html: "<p>html body</p>" });
    const id = mail?.id ?? "";
    // Held: nobody else gets it, and nobody else can mark it.
    expect(await outbox.claim({ owner: "b", now, claimUntil: new Date(+now + 60_000), limit: 5 })).toEqual([]);
    expect(await outbox.markSent(id, "b", now)).toBe(false);
    // The claim lapses (its owner died): b takes it over, and a's late mark is refused.
    const later = new Date(+now + 120_000);
    const [again] = await outbox.claim({ owner: "b", now: later, claimUntil: new Date(+later + 60_000), limit: 5 });
    expect(again?.id).toBe(id);
    expect(again?.attempts).toBe(2);
    expect(await outbox.markSent(id, "a", later)).toBe(false);
    // A retry puts it back, due later.
    expect(await outbox.markRetry(id, "b", new Date(+later + 30_000), "ECONNECTION: down")).toBe(true);
    expect(await outbox.claim({ owner: "c", now: later, claimUntil: new Date(+later + 60_000), limit: 5 })).toEqual([]);
    const due = new Date(+later + 31_000);
    const [third] = await outbox.claim({ owner: "c", now: due, claimUntil: new Date(+due + 60_000), limit: 5 });
    expect(third?.attempts).toBe(3);
    expect(await outbox.markSent(id, "c", due)).toBe(true);
    const row = (await db.orm.em
      .fork()
      .execute("select status, text_body, html_body, sent_at from mail_outbox where id = ?", [id], "get")) as Record<
      string,
      unknown
    >;
    expect(row).toMatchObject({ status: "sent", text_body: "", html_body: "" });
    expect(row.sent_at).not.toBeNull();
    expect(await outbox.oldestUnsent()).toBeNull();
  });

  it("when a message is given up, then it is marked failed with its reason, its bodies erased, and never claimed again", async () => {
    await db.orm.em.fork().execute("update mail_outbox set status = 'sent'", [], "run");
    const user = await makeUser();
    await repo.queueForEmail(user.email, tokenRow("reset"), mailTo(user.email), allowance);
    const now = new Date();
    const [mail] = await outbox.claim({ owner: "a", now, claimUntil: new Date(+now + 1000), limit: 5 });
    expect(await outbox.markFailed(mail?.id ?? "", "a", "ECONNECTION: connection refused")).toBe(true);
    const far = new Date(+now + 10 * HOUR);
    expect(await outbox.claim({ owner: "a", now: far, claimUntil: far, limit: 5 })).toEqual([]);
    const row = (await db.orm.em
      .fork()
      .execute("select status, last_error, text_body from mail_outbox where id = ?", [mail?.id], "get")) as Record<
      string,
      unknown
    >;
    expect(row).toMatchObject({ status: "failed", last_error: "ECONNECTION: connection refused", text_body: "" });
  });

  it("when housekeeping runs, then expired tokens and old finished messages go, and nothing current does", async () => {
    await db.orm.em.fork().execute("delete from mail_outbox", [], "run");
    const user = await makeUser();
    const old = tokenRow("reset", at(-10 * HOUR));
    const current = tokenRow("reset");
    await repo.queueForEmail(user.email, old, mailTo(user.email), { max: 10, since: at(-20 * HOUR) });
    await repo.queueForEmail(user.email, current, mailTo(user.email), { max: 10, since: at(-20 * HOUR) });
    // Finish the older message (claims run in next_attempt_at order).
    const claimNow = at(HOUR);
    const [first] = await outbox.claim({ owner: "h", now: claimNow, claimUntil: at(2 * HOUR), limit: 1 });
    await outbox.markSent(first?.id ?? "", "h", claimNow);
    const removed = await outbox.purge({ tokensExpiredBefore: at(-HOUR), finishedMailBefore: at(-HOUR) });
    expect(removed).toBe(2);
    expect(await countRows("account_tokens", "token_hash = ?", [old.tokenHash])).toBe(0);
    expect(await countRows("account_tokens", "token_hash = ?", [current.tokenHash])).toBe(1);
    expect(await countRows("mail_outbox", "status = 'queued'", [])).toBe(1);
  });
}
