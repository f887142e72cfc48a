import { createHash, randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createMfaAccounts } from "../../src/db/mfa-accounts.js";
import { createMfaChallengeRepository } from "../../src/db/mfa-challenge-repository.js";
import { createMfaFactorRepository } from "../../src/db/mfa-factor-repository.js";
import { createOrm, migrate, type Orm } from "../../src/db/orm.js";
import { createSessionRepository } from "../../src/db/session-repository.js";
import { createSql, type Sql } from "../../src/db/sql.js";
import { createUserRepository } from "../../src/db/user-repository.js";
import type { LoginGuard } from "../../src/domain/auth-service.js";
import type { AuthEvent } from "../../src/domain/events.js";
import { normalizeRecoveryCode } from "../../src/domain/mfa-rules.js";
import { createMfaService, type MfaService } from "../../src/domain/mfa-service.js";
import type { Clock } from "../../src/domain/ports.js";
import type { RequestMeta, User } from "../../src/domain/types.js";
import { createLogger } from "../../src/logger.js";
import { parseMfaKeys } from "../../src/mfa/keys.js";
import { createRecoveryCodeHasher } from "../../src/mfa/recovery-code-hasher.js";
import { createSecretSealer } from "../../src/mfa/secret-sealer.js";
import { createTotp } from "../../src/mfa/totp.js";
import { createBcryptHasher } from "../../src/passwords/bcrypt-hasher.js";
import { createHashLimiter } from "../../src/passwords/hash-limiter.js";
import { createAbuseGuard } from "../../src/rate-limit/abuse-guard.js";
import { openLimiterStore } from "../../src/rate-limit/stores.js";
import { createTestDatabase, describeEachDatabase, queryDatabase, type TestDatabase } from "../helpers/databases.js";
import { totpCode } from "../helpers/totp.js";

/**
 * The second factor's domain service on real repositories, on both
 * dialects, with an injected clock. The transport and Login wiring are
 * tested over the network elsewhere.
 */

const PASSWORD = "correct horse battery staple";
const MFA_TABLES = ["mfa_totp_factors", "mfa_recovery_codes", "mfa_challenges"] as const;

const META: RequestMeta = { clientAddress: "192.0.2.7", userAgent: "mfa-core test" };

const reason = (r: string) => expect.objectContaining({ name: "DomainError", reason: r });

await describeEachDatabase(describe, "second factor (domain service, real storage)", (kind) => {
  let db: TestDatabase;
  let orm: Orm;
  let sql: Sql;
  // Whole seconds into a step, so "+30 s" is always the next step.
  let now = new Date("2026-11-30T12:00:05.000Z");
  const clock: Clock = { now: () => now };
  const advance = (seconds: number) => {
    now = new Date(+now + seconds * 1000);
  };
  const events: AuthEvent[] = [];
  const keys = parseMfaKeys(`test-1:${randomBytes(32).toString("base64")}`);
  const passwords = createBcryptHasher(4, createHashLimiter(2, 10_000));
  let closeStore: () => Promise<void> = async () => undefined;
  let guard: LoginGuard;

  const build = (loginGuard?: LoginGuard, challengeTtlSeconds = 300): MfaService =>
    createMfaService({
      factors: createMfaFactorRepository(sql),
      challenges: createMfaChallengeRepository(sql),
      accounts: createMfaAccounts(sql),
      sessions: createSessionRepository(sql),
      passwords,
      totp: createTotp({ issuer: "warden-test" }),
      sealer: createSecretSealer(keys),
      recoveryCodes: createRecoveryCodeHasher(keys),
      clock,
      events: { emit: (e) => events.push(e) },
      loginGuard,
      policy: { challengeTtlSeconds },
    });
  let mfa: MfaService;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    orm = await createOrm(loadConfig({ DATABASE_URL: db.url }).database);
    await migrate(orm);
    sql = createSql(orm, kind);
    // The real login guard: 3 failures per account, then a block.
    const rl = loadConfig({ LOGIN_ACCOUNT_FREE_FAILURES: "3", LOGIN_ACCOUNT_MAX_FAILURES: "3" }).rateLimit;
    const store = await openLimiterStore(rl, loadConfig({}).database, createLogger("error"));
    closeStore = () => store.close();
    guard = createAbuseGuard(rl, store, { emit: (e) => events.push(e) });
    mfa = build();
  });

  afterAll(async () => {
    await closeStore();
    await orm?.close(true);
    await db?.drop();
  });

  async function newUser(): Promise<User> {
    const id = randomUUID().slice(0, 8);
    return createUserRepository(sql).create({
      email: `mfa-${id}@example.com`,
      username: `mfa_${id}`,
      passwordHash: await passwords.hash(PASSWORD),
    });
  }

  /** Enrols and confirms a factor; the clock then moves to the next step, so a fresh code exists. */
  async function enrolled(service = mfa) {
    const user = await newUser();
    const { secret } = await service.setupTotp(user.id, PASSWORD, META);
    const confirmCode = totpCode(secret, now);
    const { recoveryCodes } = await service.confirmTotp(user.id, confirmCode);
    advance(30);
    return { user, secret, recoveryCodes, confirmCode };
  }

  const challenge = (service: MfaService, user: User, accountKey = user.email) =>
    service.startChallenge(user.id, { accountKey });

  const rows = (table: string, userId?: string) =>
    queryDatabase<Record<string, unknown>>(
      db,
      `select * from ${table}${userId ? " where user_id = ?" : ""}`,
      userId ? [userId] : [],
    );

  it("when TOTP is set up, then only the right password starts it, the URI names issuer and e-mail, and login is unchanged until confirmed", async () => {
    const user = await newUser();
    await expect(mfa.setupTotp(user.id, "wrong password entirely", META)).rejects.toEqual(
      reason("INVALID_CREDENTIALS"),
    );
    await expect(mfa.setupTotp(user.id, "", META)).rejects.toEqual(reason("VALIDATION_ERROR"));
    const { secret, otpauthUri } = await mfa.setupTotp(user.id, PASSWORD, META);
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    const uri = new URL(otpauthUri);
    expect(uri.protocol).toBe("otpauth:");
    expect(decodeURIComponent(uri.pathname)).toBe(`/warden-test:${user.email}`);
    expect(uri.searchParams.get("issuer")).toBe("warden-test");
    expect(uri.searchParams.get("secret")).toBe(secret);
    expect(await mfa.isEnabled(user.id)).toBe(false);

    // A new setup replaces the unconfirmed one: the first secret's code no longer confirms.
    const second = await mfa.setupTotp(user.id, PASSWORD, META);
    expect(second.secret).not.toBe(secret);
    await expect(mfa.confirmTotp(user.id, totpCode(secret, now))).rejects.toEqual(reason("INVALID_CREDENTIALS"));
    await expect(mfa.confirmTotp(user.id, "12345")).rejects.toEqual(reason("INVALID_CREDENTIALS"));
    expect(await mfa.isEnabled(user.id)).toBe(false);
    expect(await rows("mfa_totp_factors", user.id)).toHaveLength(1);

    const { recoveryCodes } = await mfa.confirmTotp(user.id, totpCode(second.secret, now));
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    for (const c of recoveryCodes) expect(c).toMatch(/^[0-9a-z]{5}-[0-9a-z]{5}$/);
    expect(await mfa.isEnabled(user.id)).toBe(true);
    expect(await mfa.enabledAmong([user.id, randomUUID()])).toEqual(new Set([user.id]));
    expect(events).toContainEqual(expect.objectContaining({ event: "mfa_enabled", userId: user.id }));

    // Enabled: no second enrolment over it, and nothing left to confirm.
    await expect(mfa.setupTotp(user.id, PASSWORD, META)).rejects.toEqual(reason("FAILED_PRECONDITION"));
    await expect(mfa.confirmTotp(user.id, totpCode(second.secret, now))).rejects.toEqual(reason("FAILED_PRECONDITION"));
  });

  it("when nothing was enrolled, then confirm, disable and regenerate answer FAILED_PRECONDITION", async () => {
    const user = await newUser();
    await expect(mfa.confirmTotp(user.id, "123456")).rejects.toEqual(reason("FAILED_PRECONDITION"));
    await expect(mfa.disableTotp(user.id, PASSWORD, META)).rejects.toEqual(reason("FAILED_PRECONDITION"));
    await expect(mfa.regenerateRecoveryCodes(user.id, PASSWORD, META)).rejects.toEqual(reason("FAILED_PRECONDITION"));
    // Pending only is not enabled either.
    await mfa.setupTotp(user.id, PASSWORD, META);
    await expect(mfa.disableTotp(user.id, PASSWORD, META)).rejects.toEqual(reason("FAILED_PRECONDITION"));
    await expect(mfa.regenerateRecoveryCodes(user.id, PASSWORD, META)).rejects.toEqual(reason("FAILED_PRECONDITION"));
  });

  it("when the factor is turned on, then the user's other sessions are revoked and the calling one is kept", async () => {
    const user = await newUser();
    const sessions = createSessionRepository(sql);
    const open = () =>
      sessions.create({
        userId: user.id,
        expiresAt: new Date(+now + 3600_000),
        refreshTokenHash: createHash("sha256").update(randomUUID()).digest("base64url"),
        refreshExpiresAt: new Date(+now + 3600_000),
        clientAddress: "",
        userAgent: "",
      });
    const [current, other, third] = [await open(), await open(), await open()];
    const { secret } = await mfa.setupTotp(user.id, PASSWORD, META);
    const { revokedSessions } = await mfa.confirmTotp(user.id, totpCode(secret, now), { currentSessionId: current.id });
    expect(revokedSessions).toBe(2);
    expect((await sessions.findSessionWithUser(current.id))?.session.revokedAt).toBeNull();
    expect((await sessions.findSessionWithUser(other.id))?.session.revokedAt).not.toBeNull();
    expect((await sessions.findSessionWithUser(third.id))?.session.revokedAt).not.toBeNull();
    // Sessions keep the methods they were opened with; old ones were password-only.
    const [row] = await queryDatabase<{ amr: string }>(db, "select amr from sessions where id = ?", [current.id]);
    expect(JSON.parse(String(row?.amr))).toEqual(["pwd"]);
  });

  it("when a challenge is answered with a current code, then it yields amr pwd+otp once, and no code is accepted twice", async () => {
    const { user, secret, confirmCode } = await enrolled();
    // The code that confirmed the factor is spent, even within its skew window.
    now = new Date(+now - 30_000);
    const c0 = await challenge(mfa, user);
    await expect(mfa.verifyChallenge(c0.challengeToken, confirmCode, META)).rejects.toEqual(
      reason("INVALID_CREDENTIALS"),
    );
    advance(30);

    const c1 = await challenge(mfa, user);
    expect(c1.methods).toEqual(["totp", "recovery_code"]);
    expect(c1.expiresIn).toBe(300);
    expect(c1.challengeToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const code = totpCode(secret, now);
    const ok = await mfa.verifyChallenge(c1.challengeToken, code.replace(/(\d{3})/, "$1 "), META);
    expect(ok).toEqual({ userId: user.id, amr: ["pwd", "otp"], method: "totp" });
    // Single use: the challenge is gone.
    await expect(mfa.verifyChallenge(c1.challengeToken, code, META)).rejects.toEqual(reason("INVALID_TOKEN"));

    // Replay: the same code on a new challenge, now and in the next step (still inside the window).
    const c2 = await challenge(mfa, user);
    await expect(mfa.verifyChallenge(c2.challengeToken, code, META)).rejects.toEqual(reason("INVALID_CREDENTIALS"));
    advance(30);
    await expect(mfa.verifyChallenge(c2.challengeToken, code, META)).rejects.toEqual(reason("INVALID_CREDENTIALS"));
    // The next step's code is new and works on the same challenge.
    expect((await mfa.verifyChallenge(c2.challengeToken, totpCode(secret, now), META)).amr).toEqual(["pwd", "otp"]);
    expect(events).toContainEqual(
      expect.objectContaining({ event: "mfa_challenge_failed", userId: user.id, reason: "INVALID_CREDENTIALS" }),
    );
  });

  it("when two challenges race with the same fresh code, then exactly one succeeds", async () => {
    const { user, secret } = await enrolled();
    const [a, b] = [await challenge(mfa, user), await challenge(mfa, user)];
    const code = totpCode(secret, now);
    const results = await Promise.allSettled([
      mfa.verifyChallenge(a.challengeToken, code, META),
      mfa.verifyChallenge(b.challengeToken, code, META),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(results.find((r) => r.status === "rejected")).toMatchObject({ reason: reason("INVALID_CREDENTIALS") });
  });

  it("when a recovery code is used, then it yields amr pwd+mfa once; regenerating replaces the whole set", async () => {
    const { user, recoveryCodes } = await enrolled();
    const [first, second] = recoveryCodes as [string, string];
    const c1 = await challenge(mfa, user);
    // Case-insensitive, dash optional.
    const ok = await mfa.verifyChallenge(c1.challengeToken, first.toUpperCase().replace("-", ""), META);
    expect(ok).toEqual({ userId: user.id, amr: ["pwd", "mfa"], method: "recovery_code" });
    const c2 = await challenge(mfa, user);
    await expect(mfa.verifyChallenge(c2.challengeToken, first, META)).rejects.toEqual(reason("INVALID_CREDENTIALS"));
    const used = (await rows("mfa_recovery_codes", user.id)).filter((r) => r.used_at !== null);
    expect(used).toHaveLength(1);

    await expect(mfa.regenerateRecoveryCodes(user.id, "not the password!", META)).rejects.toEqual(
      reason("INVALID_CREDENTIALS"),
    );
    const fresh = await mfa.regenerateRecoveryCodes(user.id, PASSWORD, META);
    expect(fresh).toHaveLength(10);
    expect(fresh).not.toContain(second);
    expect(events).toContainEqual(expect.objectContaining({ event: "recovery_codes_regenerated", userId: user.id }));
    // The old, unused code died with its set; a new one works.
    await expect(mfa.verifyChallenge(c2.challengeToken, second, META)).rejects.toEqual(reason("INVALID_CREDENTIALS"));
    expect((await mfa.verifyChallenge(c2.challengeToken, fresh[3] ?? "", META)).method).toBe("recovery_code");
    expect(await rows("mfa_recovery_codes", user.id)).toHaveLength(10);
  });

  it("when all recovery codes are used, then the challenge offers TOTP only", async () => {
    const { user, recoveryCodes } = await enrolled();
    for (const code of recoveryCodes) {
      const c = await challenge(mfa, user);
      await mfa.verifyChallenge(c.challengeToken, code, META);
    }
    expect((await challenge(mfa, user)).methods).toEqual(["totp"]);
  });

  it("when 5 wrong codes are given, then the challenge is dead: even the right code gets INVALID_TOKEN", async () => {
    const { user, secret } = await enrolled();
    const c = await challenge(mfa, user);
    for (const wrong of ["000000", "111111", "garbage", "abcde-fghjk", "222222"]) {
      await expect(mfa.verifyChallenge(c.challengeToken, wrong, META)).rejects.toEqual(reason("INVALID_CREDENTIALS"));
    }
    await expect(mfa.verifyChallenge(c.challengeToken, totpCode(secret, now), META)).rejects.toEqual(
      reason("INVALID_TOKEN"),
    );
    // The right code was not spent by the dead challenge.
    const next = await challenge(mfa, user);
    expect((await mfa.verifyChallenge(next.challengeToken, totpCode(secret, now), META)).method).toBe("totp");
  });

  it("when wrong codes are sent in parallel, then no more than 5 are ever checked", async () => {
    const { user } = await enrolled();
    const c = await challenge(mfa, user);
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => mfa.verifyChallenge(c.challengeToken, String(100000 + i), META)),
    );
    const reasons = results.map((r) => (r.status === "rejected" ? (r.reason as { reason: string }).reason : "ok"));
    expect(reasons.filter((r) => r === "INVALID_CREDENTIALS")).toHaveLength(5);
    expect(reasons.filter((r) => r === "INVALID_TOKEN")).toHaveLength(7);
  });

  it("when a challenge is older than its lifetime, then it is TOKEN_EXPIRED; just before, it still works", async () => {
    const { user, secret } = await enrolled();
    const early = await challenge(mfa, user);
    const late = await challenge(mfa, user);
    advance(299);
    expect((await mfa.verifyChallenge(early.challengeToken, totpCode(secret, now), META)).method).toBe("totp");
    advance(31);
    await expect(mfa.verifyChallenge(late.challengeToken, totpCode(secret, now), META)).rejects.toEqual(
      reason("TOKEN_EXPIRED"),
    );
    // A shorter configured lifetime is honoured.
    const short = build(undefined, 60);
    const c = await challenge(short, user);
    expect(c.expiresIn).toBe(60);
    advance(61);
    await expect(short.verifyChallenge(c.challengeToken, totpCode(secret, now), META)).rejects.toEqual(
      reason("TOKEN_EXPIRED"),
    );
  });

  it("when a token is malformed or unknown, then INVALID_TOKEN; an empty code is a VALIDATION_ERROR", async () => {
    await expect(mfa.verifyChallenge("not-a-token", "123456", META)).rejects.toEqual(reason("INVALID_TOKEN"));
    await expect(mfa.verifyChallenge(randomBytes(32).toString("base64url"), "123456", META)).rejects.toEqual(
      reason("INVALID_TOKEN"),
    );
    await expect(mfa.verifyChallenge(randomBytes(32).toString("base64url"), "", META)).rejects.toEqual(
      reason("VALIDATION_ERROR"),
    );
  });

  it("when wrong passwords are given to SetupTotp, DisableTotp and RegenerateRecoveryCodes, then they count toward the account's login limit, keyed by its e-mail as Login keys it", async () => {
    const guarded = build(guard);
    const user = await newUser();
    await expect(guarded.setupTotp(user.id, "wrong password one", META)).rejects.toEqual(reason("INVALID_CREDENTIALS"));
    await expect(guarded.disableTotp(user.id, "wrong password two", META)).rejects.toEqual(
      reason("INVALID_CREDENTIALS"),
    );
    await expect(guarded.regenerateRecoveryCodes(user.id, "wrong password three", META)).rejects.toEqual(
      reason("INVALID_CREDENTIALS"),
    );
    // LOGIN_ACCOUNT_MAX_FAILURES=3: the right password is refused now, here and at Login's key.
    await expect(guarded.setupTotp(user.id, PASSWORD, META)).rejects.toEqual(reason("RATE_LIMITED"));
    await expect(guard.check(user.email, "198.51.100.1")).rejects.toEqual(reason("RATE_LIMITED"));
    // Unguarded (rate limits off), the same password works: the refusal was the limit's.
    expect((await mfa.setupTotp(user.id, PASSWORD, META)).secret.length).toBeGreaterThan(0);
  });

  it("when wrong codes are given, then they count toward the account's login limit; a dead challenge is answered before the limit", async () => {
    const guarded = build(guard);
    const { user, secret } = await enrolled(guarded);
    const accountKey = `acct-${randomUUID()}`;
    const c = await challenge(guarded, user, accountKey);
    for (const wrong of ["000001", "000002", "000003"]) {
      await expect(guarded.verifyChallenge(c.challengeToken, wrong, META)).rejects.toEqual(
        reason("INVALID_CREDENTIALS"),
      );
    }
    // LOGIN_ACCOUNT_MAX_FAILURES=3: the account is now blocked, the right code included.
    await expect(guarded.verifyChallenge(c.challengeToken, totpCode(secret, now), META)).rejects.toEqual(
      reason("RATE_LIMITED"),
    );
    // A challenge killed elsewhere (5 wrong codes) answers INVALID_TOKEN, not RATE_LIMITED.
    const dead = await challenge(mfa, user, accountKey);
    for (let i = 0; i < 5; i++) await mfa.verifyChallenge(dead.challengeToken, "999999", META).catch(() => undefined);
    await expect(guarded.verifyChallenge(dead.challengeToken, totpCode(secret, now), META)).rejects.toEqual(
      reason("INVALID_TOKEN"),
    );
    expect(events).toContainEqual(
      expect.objectContaining({ event: "mfa_challenge_failed", outcome: "blocked", reason: "RATE_LIMITED" }),
    );
  });

  it("when the factor is disabled, then the password is needed, its codes and challenges go, and sessions stay", async () => {
    const { user, secret, recoveryCodes } = await enrolled();
    const pending = await challenge(mfa, user);
    const session = await createSessionRepository(sql).create({
      userId: user.id,
      expiresAt: new Date(+now + 3600_000),
      refreshTokenHash: createHash("sha256").update(randomUUID()).digest("base64url"),
      refreshExpiresAt: new Date(+now + 3600_000),
      clientAddress: "",
      userAgent: "",
    });
    await expect(mfa.disableTotp(user.id, "not the password!", META)).rejects.toEqual(reason("INVALID_CREDENTIALS"));
    expect(await mfa.isEnabled(user.id)).toBe(true);
    await mfa.disableTotp(user.id, PASSWORD, META);
    expect(await mfa.isEnabled(user.id)).toBe(false);
    for (const table of MFA_TABLES) expect(await rows(table, user.id)).toEqual([]);
    await expect(mfa.verifyChallenge(pending.challengeToken, recoveryCodes[0] ?? "", META)).rejects.toEqual(
      reason("INVALID_TOKEN"),
    );
    await expect(mfa.verifyChallenge(pending.challengeToken, totpCode(secret, now), META)).rejects.toEqual(
      reason("INVALID_TOKEN"),
    );
    expect((await createSessionRepository(sql).findSessionWithUser(session.id))?.session.revokedAt).toBeNull();
    expect(events).toContainEqual(expect.objectContaining({ event: "mfa_disabled", userId: user.id }));
    await expect(mfa.disableTotp(user.id, PASSWORD, META)).rejects.toEqual(reason("FAILED_PRECONDITION"));
    // And it can be enrolled again from scratch.
    const again = await mfa.setupTotp(user.id, PASSWORD, META);
    expect((await mfa.confirmTotp(user.id, totpCode(again.secret, now))).recoveryCodes).toHaveLength(10);
  });

  it("when an admin resets a user's second factor, then it is gone and audited; an unknown user is NOT_FOUND", async () => {
    const { user } = await enrolled();
    expect(await mfa.resetUserMfa(user.id)).toEqual({ wasEnabled: true });
    expect(await mfa.isEnabled(user.id)).toBe(false);
    for (const table of MFA_TABLES) expect(await rows(table, user.id)).toEqual([]);
    expect(events).toContainEqual(expect.objectContaining({ event: "mfa_reset", userId: user.id, outcome: "success" }));
    expect(await mfa.resetUserMfa(user.id)).toEqual({ wasEnabled: false });
    await expect(mfa.resetUserMfa(randomUUID())).rejects.toEqual(reason("NOT_FOUND"));
  });

  it("when every row of the second-factor tables is read, then it holds neither a TOTP secret nor a usable recovery code", async () => {
    const { user, secret, recoveryCodes } = await enrolled();
    const { challengeToken } = await challenge(mfa, user);
    const dump: Array<Record<string, unknown>> = [];
    for (const table of MFA_TABLES) dump.push(...(await rows(table)));
    const text = JSON.stringify(dump);
    expect(text).toContain(user.id); // the rows are there...

    // ...but not the secret, in any spelling, nor the challenge token.
    for (const s of [secret, secret.toLowerCase(), Buffer.from(secret).toString("base64")])
      expect(text).not.toContain(s);
    expect(text).not.toContain(challengeToken);
    // The ciphertext does not open without the configured key (same key id, other bytes).
    const [factor] = await rows("mfa_totp_factors", user.id);
    const sealed = { ciphertext: String(factor?.secret_ciphertext), keyId: String(factor?.key_id) };
    expect(sealed.keyId).toBe("test-1");
    const impostor = createSecretSealer(parseMfaKeys(`test-1:${randomBytes(32).toString("base64")}`));
    expect(() => impostor.open(sealed, user.id)).toThrow();
    expect(createSecretSealer(keys).open(sealed, user.id)).toBe(secret); // the service's key does

    // Recovery codes: neither the codes nor an unkeyed digest of them is stored.
    const stored = (await rows("mfa_recovery_codes", user.id)).map((r) => String(r.code_hash));
    expect(stored).toHaveLength(10);
    for (const code of recoveryCodes) {
      const norm = normalizeRecoveryCode(code) ?? "";
      expect(text).not.toContain(code);
      expect(text).not.toContain(norm);
      for (const digest of [norm, `${user.id}|${norm}`, code].map((v) => createHash("sha256").update(v).digest())) {
        expect(stored).not.toContain(digest.toString("base64url"));
        expect(stored).not.toContain(digest.toString("hex"));
        expect(stored).not.toContain(digest.toString("base64"));
      }
    }
    // And a stored value typed as a code does not work.
    await expect(mfa.verifyChallenge(challengeToken, stored[0] ?? "", META)).rejects.toEqual(
      reason("INVALID_CREDENTIALS"),
    );
    await expect(mfa.verifyChallenge(challengeToken, (stored[1] ?? "").slice(0, 10), META)).rejects.toEqual(
      reason("INVALID_CREDENTIALS"),
    );
  });
});
