import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccountService } from "../../src/domain/account-service.js";
import { DomainError } from "../../src/domain/errors.js";
import { type AuthClient, authClient, connectTransport } from "../helpers/clients.js";
import { describeEachDatabase, queryDatabase } from "../helpers/databases.js";
import { callerOf, mailFiles, partOfType, tokenIn } from "../helpers/mail.js";
import { startServer, TEST_ENV, type TestServer, testClock, uniqueUser } from "../helpers/server.js";
import { waitFor } from "../helpers/wait.js";

const HOUR = 3600_000;

/** How a domain call ended: "ok" or its error reason. */
async function reasonOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "ok";
  } catch (e) {
    if (e instanceof DomainError) return e.reason;
    throw e;
  }
}

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

let addressCounter = 0;
/** Each request from its own address, so the per-address limit only bites where a test wants it to. */
const client = () => ({
  clientAddress: `10.9.${(++addressCounter >> 8) & 255}.${addressCounter & 255}`,
  userAgent: "account-core-test",
});

/**
 * The account lifecycle's domain service with real repositories, a real
 * database of each kind, a running server (users and sessions are made
 * over the network with AuthService; mail is written as .eml files by the
 * server's own dispatcher) and a clock the tests move. The RPC-level tests
 * come with the AccountService handlers.
 */
await describeEachDatabase(describe, "account lifecycle core", (kind) => {
  let server: TestServer;
  let auth: AuthClient;
  let account: AccountService;
  const clock = testClock();
  const seenTokens: string[] = [];

  beforeAll(async () => {
    server = await startServer({
      db: kind,
      clock,
      env: { MAIL_POLL_INTERVAL_MS: "100", MAIL_ADDRESS_LIMIT: "3", REFRESH_REUSE_INTERVAL: "0" },
    });
    auth = authClient(connectTransport(server.baseUrl));
    account = server.app.services.account;
  });
  afterAll(async () => {
    await server?.close();
  });

  const mailDir = () => join(server.dataDir, "mail");
  const mailsTo = async (email: string) =>
    (await mailFiles(mailDir())).filter((m) => (m.mime.headers.get("to") ?? "").includes(email));

  /** Waits for the n-th message (1-based) to `email` and returns the token in its link. */
  async function nthToken(email: string, n: number): Promise<string> {
    await waitFor(`message ${n} to ${email}`, async () => (await mailsTo(email)).length >= n);
    const mail = (await mailsTo(email))[n - 1];
    const text = mail ? partOfType(mail.mime, "text/plain")?.body : undefined;
    const token = text ? tokenIn(text) : undefined;
    if (!token) throw new Error("no token in the message");
    seenTokens.push(token);
    return token;
  }

  async function signUp() {
    const u = uniqueUser("acct");
    const res = await auth.register(u);
    const tokens = res.tokens;
    if (!tokens) throw new Error("no tokens");
    return { ...u, id: res.user?.id ?? "", tokens, caller: callerOf(tokens.accessToken) };
  }

  const login = async (emailOrUsername: string, password: string) => {
    const res = await auth.login({ emailOrUsername, password });
    return res.tokens ?? Promise.reject(new Error("no tokens"));
  };

  const refreshReason = (refreshToken: string) => reasonOfConnect(auth.refresh({ refreshToken }));

  async function reasonOfConnect(call: Promise<unknown>): Promise<string> {
    try {
      await call;
      return "ok";
    } catch (e) {
      const details = (e as { details?: Array<{ value?: Uint8Array }> }).details;
      // The reason travels in ErrorInfo; its text is enough here.
      const raw = (details ?? []).map((d) => Buffer.from(d.value ?? []).toString("latin1")).join(" ");
      return /[A-Z_]{5,}/.exec(raw)?.[0] ?? "unknown";
    }
  }

  const row = async (sql: string, params: unknown[]) =>
    (await queryDatabase<Record<string, unknown>>(server.db, sql, params))[0];

  describe("password reset", () => {
    it("when a reset is requested for a known and an unknown address, then both answer the same and only the known one is mailed", async () => {
      const user = await signUp();
      const unknown = `nobody-${user.username}@example.com`;
      const answers = [
        await account.requestPasswordReset({ email: user.email }, client()),
        await account.requestPasswordReset({ email: unknown }, client()),
      ];
      expect(answers).toEqual([undefined, undefined]);
      const token = await nthToken(user.email, 1);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(await mailsTo(unknown)).toEqual([]);
      const audit = server.logs.filter((l) => l.message === "audit" && l.event === "password_reset_requested");
      expect(audit.some((l) => l.outcome === "success" && l.user_id === user.id)).toBe(true);
      expect(audit.some((l) => l.outcome === "ignored" && l.user_id === undefined)).toBe(true);
    });

    it("when known and unknown addresses are asked for many times, then they take the same time within a few milliseconds", async () => {
      const known = await Promise.all(Array.from({ length: 15 }, () => signUp()));
      const timed = async (email: string) => {
        // Each call starts with the dispatcher done with the previous one's
        // message: its sending is work after the answer, not part of it.
        await waitFor("the outbox to be sent", async () => {
          const unsent = await row("select count(*) as n from mail_outbox where status in ('queued', 'sending')", []);
          return Number(unsent?.n) === 0;
        });
        const started = performance.now();
        await account.requestPasswordReset({ email }, client());
        return performance.now() - started;
      };
      // Adjacent calls form a pair, in alternating order, so drift in the
      // machine's load cancels out of each pair's difference.
      const differences: number[] = [];
      for (let round = 0; round < 2; round++) {
        for (const [i, user] of known.entries()) {
          const ghost = `ghost-${round}-${user.email}`;
          if ((i + round) % 2) {
            const k = await timed(user.email);
            differences.push(k - (await timed(ghost)));
          } else {
            const u = await timed(ghost);
            differences.push((await timed(user.email)) - u);
          }
        }
      }
      const median = [...differences].sort((a, b) => a - b)[Math.floor(differences.length / 2)] ?? 0;
      // The same statements run either way, each request writes a token row
      // (so each commit flushes), and only whether the row has a user and a
      // message differs. When an unknown address wrote nothing, its answer
      // came ~10 ms sooner on PostgreSQL (no WAL flush at commit).
      expect(Math.abs(median), `median known - unknown: ${median.toFixed(2)} ms`).toBeLessThan(5);
    });

    it("when the link is used, then the new password works, the old does not, every session ended, the e-mail is verified, and the link is dead", async () => {
      const user = await signUp();
      const second = await login(user.email, user.password);
      await account.requestPasswordReset({ email: user.email }, client());
      const token = await nthToken(user.email, 1);
      await account.resetPassword({ token, newPassword: `${user.password}-new` }, client());
      expect(await reasonOf(account.resetPassword({ token, newPassword: `${user.password}-again` }, client()))).toBe(
        "INVALID_TOKEN",
      );
      await login(user.email, `${user.password}-new`);
      expect(await reasonOfConnect(auth.login({ emailOrUsername: user.email, password: user.password }))).toBe(
        "INVALID_CREDENTIALS",
      );
      expect(await refreshReason(user.tokens.refreshToken)).toBe("TOKEN_REVOKED");
      expect(await refreshReason(second.refreshToken)).toBe("TOKEN_REVOKED");
      const verified = await row("select email_verified from users where id = ?", [user.id]);
      expect(verified?.email_verified === true || verified?.email_verified === 1).toBe(true);
    });

    it("when one link is redeemed by several calls at once, then exactly one succeeds", async () => {
      const user = await signUp();
      await account.requestPasswordReset({ email: user.email }, client());
      const token = await nthToken(user.email, 1);
      const results = await Promise.all(
        [1, 2, 3].map((n) =>
          reasonOf(account.resetPassword({ token, newPassword: `${user.password}-${n}` }, client())),
        ),
      );
      expect(results.sort()).toEqual(["INVALID_TOKEN", "INVALID_TOKEN", "ok"]);
    });

    it("when the link is an hour old, then TOKEN_EXPIRED; when it is malformed or empty, then INVALID_TOKEN or VALIDATION_ERROR", async () => {
      const user = await signUp();
      await account.requestPasswordReset({ email: user.email }, client());
      const token = await nthToken(user.email, 1);
      clock.advance(HOUR + 1000);
      expect(await reasonOf(account.resetPassword({ token, newPassword: `${user.password}-new` }, client()))).toBe(
        "TOKEN_EXPIRED",
      );
      expect(
        await reasonOf(account.resetPassword({ token: "not-a-token", newPassword: `${user.password}-x` }, client())),
      ).toBe("INVALID_TOKEN");
      expect(
        await reasonOf(account.resetPassword({ token: "A".repeat(43), newPassword: `${user.password}-x` }, client())),
      ).toBe("INVALID_TOKEN");
      expect(await reasonOf(account.resetPassword({ token: " ", newPassword: `${user.password}-x` }, client()))).toBe(
        "VALIDATION_ERROR",
      );
    });

    it("when the new password breaks the policy, then VALIDATION_ERROR names new_password and the link still works", async () => {
      const user = await signUp();
      await account.requestPasswordReset({ email: user.email }, client());
      const token = await nthToken(user.email, 1);
      const refused = await account
        .resetPassword({ token, newPassword: `${user.username}-123456` }, client())
        .catch((e) => e);
      expect(refused).toBeInstanceOf(DomainError);
      expect((refused as DomainError).violations.map((v) => v.field)).toEqual(["new_password"]);
      expect(await reasonOf(account.resetPassword({ token, newPassword: "short" }, client()))).toBe("VALIDATION_ERROR");
      await account.resetPassword({ token, newPassword: `${user.password}-fine` }, client());
    });

    it("when an account asks more often than its allowance, then the answers stay the same but only the allowance is mailed", async () => {
      const user = await signUp();
      for (let i = 0; i < 5; i++) {
        expect(await account.requestPasswordReset({ email: user.email }, client())).toBeUndefined();
      }
      await nthToken(user.email, 3);
      const queued = await row("select count(*) as n from mail_outbox where user_id = ?", [user.id]);
      expect(Number(queued?.n)).toBe(3);
    });

    it("when one address asks past MAIL_ADDRESS_LIMIT, then RATE_LIMITED with a wait, whatever the address asked for; other addresses go on", async () => {
      const from = { clientAddress: "203.0.113.77", userAgent: "" };
      for (let i = 0; i < 3; i++) await account.requestPasswordReset({ email: `x${i}@example.com` }, from);
      const refused = await account.requestPasswordReset({ email: "y@example.com" }, from).catch((e) => e);
      expect(refused).toBeInstanceOf(DomainError);
      expect((refused as DomainError).reason).toBe("RATE_LIMITED");
      expect((refused as DomainError).retryAfterMs).toBeGreaterThan(0);
      expect(await reasonOf(account.requestPasswordReset({ email: "y@example.com" }, client()))).toBe("ok");
    });

    it("when the address is malformed, then VALIDATION_ERROR", async () => {
      expect(await reasonOf(account.requestPasswordReset({ email: "not an address" }, client()))).toBe(
        "VALIDATION_ERROR",
      );
    });
  });

  describe("e-mail verification", () => {
    it("when verification is requested and the link used, then the e-mail is verified, the link is dead, and a new request is a no-op", async () => {
      const user = await signUp();
      await account.sendVerificationEmail(user.caller, client());
      const token = await nthToken(user.email, 1);
      const mail = (await mailsTo(user.email))[0];
      expect(mail?.mime.type).toBe("multipart/alternative");
      expect(partOfType(mail?.mime ?? ({} as never), "text/html")?.body).toContain(`token=${token}`);
      // A reset token is not a verification token.
      expect(await reasonOf(account.verifyEmail({ token: "A".repeat(43) }, client()))).toBe("INVALID_TOKEN");
      await account.verifyEmail({ token }, client());
      expect(await reasonOf(account.verifyEmail({ token }, client()))).toBe("INVALID_TOKEN");
      await account.sendVerificationEmail(user.caller, client());
      const queued = await row("select count(*) as n from mail_outbox where user_id = ?", [user.id]);
      expect(Number(queued?.n)).toBe(1);
    });

    it("when a verification link is 24 hours old, then TOKEN_EXPIRED; a reset link does not verify", async () => {
      const user = await signUp();
      await account.sendVerificationEmail(user.caller, client());
      const token = await nthToken(user.email, 1);
      await account.requestPasswordReset({ email: user.email }, client());
      const resetToken = await nthToken(user.email, 2);
      expect(await reasonOf(account.verifyEmail({ token: resetToken }, client()))).toBe("INVALID_TOKEN");
      clock.advance(24 * HOUR + 1000);
      expect(await reasonOf(account.verifyEmail({ token }, client()))).toBe("TOKEN_EXPIRED");
    });
  });

  describe("password change", () => {
    it("when the current password is right, then the new one works and every other session ends while the caller's stays", async () => {
      const user = await signUp();
      const other = await login(user.username, user.password);
      const third = await login(user.email, user.password);
      const result = await account.changePassword(
        user.caller,
        {
          currentPassword: user.password,
          newPassword: `${user.password}-changed`,
        },
        client(),
      );
      expect(result.revokedSessions).toBe(2);
      expect(await refreshReason(other.refreshToken)).toBe("TOKEN_REVOKED");
      expect(await refreshReason(third.refreshToken)).toBe("TOKEN_REVOKED");
      expect(await refreshReason(user.tokens.refreshToken)).toBe("ok");
      await login(user.email, `${user.password}-changed`);
    });

    it("when the current password is wrong, then INVALID_CREDENTIALS, and repeated guesses are held back like Login's", async () => {
      const user = await signUp();
      const wrong = () =>
        reasonOf(
          account.changePassword(
            user.caller,
            { currentPassword: "wrong-password", newPassword: "a-new-password-1" },
            client(),
          ),
        );
      expect(await wrong()).toBe("INVALID_CREDENTIALS");
      const reasons: string[] = [];
      for (let i = 0; i < 8; i++) reasons.push(await wrong());
      expect(reasons).toContain("RATE_LIMITED");
      // Held back means no password is checked at all, the right one included.
      expect(
        await reasonOf(
          account.changePassword(
            user.caller,
            { currentPassword: user.password, newPassword: "a-new-password-2" },
            client(),
          ),
        ),
      ).toBe("RATE_LIMITED");
    });
  });

  describe("sessions", () => {
    it("when sessions are listed, then the open ones come newest first with the caller's marked current", async () => {
      const user = await signUp();
      clock.advance(1000);
      const newer = await login(user.email, user.password);
      const list = await account.listSessions(user.caller);
      expect(list.map((s) => s.id)).toEqual([callerOf(newer.accessToken).sessionId, user.caller.sessionId]);
      expect(list.map((s) => s.current)).toEqual([false, true]);
      expect(list[0]?.expiresAt.getTime()).toBeGreaterThan(clock.now().getTime());
    });

    it("when a session is revoked, then its refresh fails; another user's, an unknown or a malformed id is NOT_FOUND", async () => {
      const user = await signUp();
      const stranger = await signUp();
      const other = await login(user.email, user.password);
      const otherId = callerOf(other.accessToken).sessionId;
      expect(await reasonOf(account.revokeSession(stranger.caller, otherId, client()))).toBe("NOT_FOUND");
      expect(await reasonOf(account.revokeSession(user.caller, "not-a-session", client()))).toBe("NOT_FOUND");
      expect(await reasonOf(account.revokeSession(user.caller, "00000000-0000-4000-8000-000000000000", client()))).toBe(
        "NOT_FOUND",
      );
      await account.revokeSession(user.caller, otherId, client());
      expect(await reasonOf(account.revokeSession(user.caller, otherId, client()))).toBe("NOT_FOUND");
      expect(await refreshReason(other.refreshToken)).toBe("TOKEN_REVOKED");
      expect(await refreshReason(user.tokens.refreshToken)).toBe("ok");
    });

    it("when the other sessions are revoked, then the count comes back and only the caller's stays", async () => {
      const user = await signUp();
      await login(user.email, user.password);
      await login(user.email, user.password);
      expect(await account.revokeOtherSessions(user.caller, client())).toBe(2);
      expect(await account.revokeOtherSessions(user.caller, client())).toBe(0);
      expect((await account.listSessions(user.caller)).map((s) => s.id)).toEqual([user.caller.sessionId]);
    });
  });

  describe("account deletion", () => {
    it("when the password is wrong, then INVALID_CREDENTIALS and nothing is deleted", async () => {
      const user = await signUp();
      expect(await reasonOf(account.deleteAccount(user.caller, { password: "wrong-password" }, client()))).toBe(
        "INVALID_CREDENTIALS",
      );
      await auth.getCurrentUser({}, bearer(user.tokens.accessToken));
    });

    it("when the account is deleted, then every row of the user is gone and their tokens and links stop working at once", async () => {
      const user = await signUp();
      const other = await login(user.email, user.password);
      await account.requestPasswordReset({ email: user.email }, client());
      const resetToken = await nthToken(user.email, 1);
      await account.sendVerificationEmail(user.caller, client());
      await account.deleteAccount(user.caller, { password: user.password }, client());
      for (const table of ["sessions", "account_tokens", "mail_outbox"]) {
        const n = await row(`select count(*) as n from ${table} where user_id = ?`, [user.id]);
        expect(Number(n?.n), table).toBe(0);
      }
      expect(await row("select id from users where id = ?", [user.id])).toBeUndefined();
      expect(await reasonOfConnect(auth.getCurrentUser({}, bearer(user.tokens.accessToken)))).toBe("INVALID_TOKEN");
      expect(await reasonOfConnect(auth.getCurrentUser({}, bearer(other.accessToken)))).toBe("INVALID_TOKEN");
      expect(await refreshReason(other.refreshToken)).toBe("INVALID_TOKEN");
      expect(
        await reasonOf(account.resetPassword({ token: resetToken, newPassword: "another-password-1" }, client())),
      ).toBe("INVALID_TOKEN");
      const audit = server.logs.filter((l) => l.message === "audit" && l.event === "account_deleted");
      expect(audit.at(-1)).toMatchObject({ outcome: "success", user_id: user.id });
    });
  });

  it("when the suite is done, then no reset or verification token it saw appears in any log line at debug", () => {
    // Every test server logs at debug (TEST_ENV), the level at which the most is written.
    expect(TEST_ENV.LOG_LEVEL).toBe("debug");
    expect(seenTokens.length).toBeGreaterThan(5);
    for (const token of seenTokens) {
      const leaking = server.rawLogs.filter((line) => line.includes(token));
      expect(leaking).toEqual([]);
    }
  });
});
