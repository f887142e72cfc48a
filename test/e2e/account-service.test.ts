import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accountCaller, type CallOptions, PROTOCOLS } from "../helpers/account.js";
import { type AuthClient, authClient, connectTransport } from "../helpers/clients.js";
import { describeEachDatabase, queryDatabase } from "../helpers/databases.js";
import { outcome } from "../helpers/errors.js";
import { healthClient } from "../helpers/health.js";
import { callerOf, mailFiles, partOfType, tokenIn } from "../helpers/mail.js";
import { auditLines, startServer, TEST_ENV, type TestServer, testClock, uniqueUser } from "../helpers/server.js";
import { waitFor } from "../helpers/wait.js";

const HOUR = 3600_000;

let addressCounter = 0;
/** A fresh client address per call (the server trusts 127.0.0.1 as a proxy), so per-address limits bite only where a test wants. */
const freshAddress = () => `198.51.${(++addressCounter >> 8) & 255}.${addressCounter & 255}`;

/**
 * auth.v1.AccountService over the network, on SQLite and PostgreSQL: every
 * RPC on Connect, gRPC (@grpc/grpc-js) and its REST route, then each rule of
 * the account lifecycle. Mail goes to .eml files under the server's
 * DATA_DIR/mail (development without SMTP_URL), from which the tests take
 * the links; the real-SMTP paths are in account-mail.test.ts.
 */
await describeEachDatabase(describe, "AccountService over the network", (kind) => {
  let server: TestServer;
  let auth: AuthClient;
  const clock = testClock();
  /** Every reset or verification token a test saw: none may ever appear in a log line. */
  const seenTokens: string[] = [];

  beforeAll(async () => {
    server = await startServer({
      db: kind,
      clock,
      env: {
        // x-forwarded-for from the tests is believed: each call can come from its own address.
        TRUSTED_PROXIES: "127.0.0.1",
        MAIL_POLL_INTERVAL_MS: "100",
        MAIL_ADDRESS_LIMIT: "3",
        REFRESH_REUSE_INTERVAL: "0",
      },
    });
    auth = authClient(connectTransport(server.baseUrl));
  });
  afterAll(() => server?.close());

  const connect = () => accountCaller("connect", server, { from: freshAddress });
  const headers = (o: CallOptions = {}) => ({
    headers: {
      "x-forwarded-for": o.from ?? freshAddress(),
      ...(o.userAgent !== undefined ? { "user-agent": o.userAgent } : {}),
    },
  });

  async function signUp(o: CallOptions = {}) {
    const u = uniqueUser("acct");
    const res = await auth.register(u, headers(o));
    const tokens = res.tokens;
    if (!tokens || !res.user) throw new Error("no tokens");
    return { ...u, id: res.user.id, tokens, sessionId: callerOf(tokens.accessToken).sessionId };
  }

  async function login(emailOrUsername: string, password: string, o: CallOptions = {}) {
    const res = await auth.login({ emailOrUsername, password }, headers(o));
    if (!res.tokens) throw new Error("no tokens");
    return { ...res.tokens, sessionId: callerOf(res.tokens.accessToken).sessionId };
  }

  const refreshReason = async (refreshToken: string) => (await outcome(auth.refresh({ refreshToken }))).reason;
  const meReason = async (accessToken: string) =>
    (await outcome(auth.getCurrentUser({}, { headers: { authorization: `Bearer ${accessToken}` } }))).reason;

  const mailsTo = async (email: string) =>
    (await mailFiles(join(server.dataDir, "mail"))).filter((m) => (m.mime.headers.get("to") ?? "").includes(email));

  /** Waits for the n-th message (1-based) to `email` and returns the token of its link. */
  async function nthToken(email: string, n: number): Promise<string> {
    await waitFor(`message ${n} to ${email}`, async () => (await mailsTo(email)).length >= n);
    const mail = (await mailsTo(email))[n - 1];
    const text = mail ? partOfType(mail.mime, "text/plain")?.body : undefined;
    const token = text ? tokenIn(text) : undefined;
    if (!token) throw new Error("no token in the message");
    seenTokens.push(token);
    return token;
  }

  const rows = <R>(sql: string, params: unknown[] = []) => queryDatabase<R>(server.db, sql, params);
  const countOf = async (sql: string, params: unknown[]) => Number((await rows<{ n: unknown }>(sql, params))[0]?.n);

  describe.each(PROTOCOLS)("every RPC over %s", (protocol) => {
    let api: ReturnType<typeof accountCaller>;
    beforeAll(() => {
      api = accountCaller(protocol, server, { from: freshAddress });
    });
    afterAll(() => api?.close());

    it("when sessions are listed, one revoked and then the others, then each answer is the contract's", async () => {
      const user = await signUp();
      const other = await login(user.email, user.password);
      const third = await login(user.username, user.password);
      const token = user.tokens.accessToken;

      const listed = await api.call("ListSessions", {}, { token });
      expect(listed.reason).toBe("ok");
      const sessions = listed.body.sessions as Array<Record<string, unknown>>;
      expect(sessions.map((s) => s.id)).toEqual([third.sessionId, other.sessionId, user.sessionId]);
      // Proto3 JSON and grpc-js leave a false `current` out.
      expect(sessions.map((s) => s.current === true)).toEqual([false, false, true]);

      expect((await api.call("RevokeSession", { sessionId: other.sessionId }, { token })).reason).toBe("ok");
      expect((await api.call("RevokeSession", { sessionId: other.sessionId }, { token })).reason).toBe("NOT_FOUND");
      expect(await refreshReason(other.refreshToken)).toBe("TOKEN_REVOKED");

      const others = await api.call("RevokeOtherSessions", {}, { token });
      expect(others).toMatchObject({ reason: "ok", body: { revokedCount: 1 } });
      expect(await meReason(third.accessToken)).toBe("TOKEN_REVOKED");
      expect(await meReason(token)).toBe("ok");

      expect((await api.call("ListSessions")).reason).toBe("INVALID_TOKEN");
      expect((await api.call("RevokeOtherSessions", {}, { token: "not.a.token" })).reason).toBe("INVALID_TOKEN");
    });

    it("when the password is changed, then a wrong current one is refused, and the right one ends every other session", async () => {
      const user = await signUp();
      const other = await login(user.email, user.password);
      const token = user.tokens.accessToken;
      const wrong = await api.call(
        "ChangePassword",
        { currentPassword: "wrong-password-1", newPassword: "x" },
        { token },
      );
      // The new password is checked first (it says nothing about the current one).
      expect(wrong.reason).toBe("VALIDATION_ERROR");
      expect(
        (
          await api.call(
            "ChangePassword",
            { currentPassword: "wrong-password-1", newPassword: "a-fine-new-pass" },
            { token },
          )
        ).reason,
      ).toBe("INVALID_CREDENTIALS");
      const changed = await api.call(
        "ChangePassword",
        { currentPassword: user.password, newPassword: `${user.password}-new` },
        { token },
      );
      expect(changed).toEqual({ reason: "ok", body: {}, retryMs: undefined });
      expect(await refreshReason(other.refreshToken)).toBe("TOKEN_REVOKED");
      expect(await refreshReason(user.tokens.refreshToken)).toBe("ok");
      await login(user.email, `${user.password}-new`);
    });

    it("when a reset is requested for a known and an unknown address and the link is used, then both answer alike and the link works once", async () => {
      const user = await signUp();
      const unknown = await api.call(
        "RequestPasswordReset",
        { email: `nobody-${user.email}` },
        { from: freshAddress() },
      );
      const known = await api.call(
        "RequestPasswordReset",
        { email: user.email.toUpperCase() },
        { from: freshAddress() },
      );
      expect(known).toEqual(unknown);
      expect(known.reason).toBe("ok");
      const token = await nthToken(user.email, 1);
      const reset = { token, newPassword: `${user.password}-reset` };
      expect((await api.call("ResetPassword", reset)).reason).toBe("ok");
      expect((await api.call("ResetPassword", reset)).reason).toBe("INVALID_TOKEN");
      await login(user.username, reset.newPassword);
    });

    it("when verification mail is sent and its link used, then the e-mail is verified and the link is dead", async () => {
      const user = await signUp();
      const token = user.tokens.accessToken;
      expect((await api.call("SendVerificationEmail", {}, { token, from: freshAddress() })).reason).toBe("ok");
      const link = await nthToken(user.email, 1);
      expect((await api.call("VerifyEmail", { token: link })).reason).toBe("ok");
      expect((await api.call("VerifyEmail", { token: link })).reason).toBe("INVALID_TOKEN");
      const me = await auth.getCurrentUser({}, { headers: { authorization: `Bearer ${token}` } });
      expect(me.user?.emailVerified).toBe(true);
      expect((await api.call("SendVerificationEmail", {})).reason).toBe("INVALID_TOKEN");
    });

    it("when the account is deleted, then a wrong password is refused and the right one ends it", async () => {
      const user = await signUp();
      const token = user.tokens.accessToken;
      expect((await api.call("DeleteAccount", { password: "wrong-password-1" }, { token })).reason).toBe(
        "INVALID_CREDENTIALS",
      );
      expect((await api.call("DeleteAccount", { password: user.password }, { token })).reason).toBe("ok");
      expect(await meReason(token)).toBe("INVALID_TOKEN");
      expect((await api.call("ListSessions", {}, { token })).reason).toBe("INVALID_TOKEN");
    });
  });

  describe("sessions", () => {
    it("when sessions are listed, then each says when it was opened and last used, until when it lasts, from where and with what", async () => {
      const user = await signUp({ from: "203.0.113.10", userAgent: "warden-test/1.0 (first)" });
      const before = clock.now();
      const second = await login(user.email, user.password, { from: "2001:db8::7", userAgent: "warden-test/2.0" });
      const { body } = await connect().call("ListSessions", {}, { token: second.accessToken });
      const [newest, oldest] = body.sessions as Array<Record<string, string | boolean>>;
      expect(newest).toMatchObject({
        id: second.sessionId,
        clientAddress: "2001:db8::7",
        userAgent: "warden-test/2.0",
        current: true,
      });
      expect(oldest).toMatchObject({
        id: user.sessionId,
        clientAddress: "203.0.113.10",
        userAgent: "warden-test/1.0 (first)",
        current: false,
      });
      const createdAt = Date.parse(String(newest?.createdAt));
      expect(Math.abs(createdAt - +before)).toBeLessThan(60_000);
      // Never used since the login that opened it: last used is when it was opened.
      expect(newest?.lastUsedAt).toBe(newest?.createdAt);
      expect(Date.parse(String(newest?.expiresAt))).toBeGreaterThan(+clock.now());
    });

    it("when a session is refreshed, then its last use moves to the refresh and nothing else of it changes", async () => {
      const user = await signUp({ from: "203.0.113.11", userAgent: "first-agent" });
      const listed = async (token: string) =>
        ((await connect().call("ListSessions", {}, { token })).body.sessions as Array<Record<string, string>>)[0];
      const opened = await listed(user.tokens.accessToken);
      clock.advance(90_000);
      const refreshed = await auth.refresh(
        { refreshToken: user.tokens.refreshToken },
        { headers: { "x-forwarded-for": "203.0.113.99", "user-agent": "other-agent" } },
      );
      const after = await listed(refreshed.tokens?.accessToken ?? "");
      expect(after?.id).toBe(opened?.id);
      expect(Date.parse(String(after?.lastUsedAt)) - Date.parse(String(opened?.lastUsedAt))).toBeGreaterThanOrEqual(
        89_000,
      );
      expect(after).toMatchObject({
        createdAt: opened?.createdAt,
        expiresAt: opened?.expiresAt,
        clientAddress: "203.0.113.11",
        userAgent: "first-agent",
      });
    });

    it("when the user agent holds control characters or is very long, then the session keeps it cleaned and cut to 512 characters", async () => {
      const long = `agent\twith\ttabs/${"x".repeat(2000)}`;
      const user = await signUp({ userAgent: long });
      const [stored] = await rows<{ user_agent: string }>("select user_agent from sessions where id = ?", [
        user.sessionId,
      ]);
      expect(stored?.user_agent).toHaveLength(512);
      expect(stored?.user_agent.startsWith("agentwithtabs/xxx")).toBe(true);
    });

    it("when the calling session revokes itself, then its own access and refresh tokens stop working at once", async () => {
      const user = await signUp();
      const token = user.tokens.accessToken;
      expect((await connect().call("RevokeSession", { sessionId: user.sessionId }, { token })).reason).toBe("ok");
      expect(await meReason(token)).toBe("TOKEN_REVOKED");
      expect((await connect().call("ListSessions", {}, { token })).reason).toBe("TOKEN_REVOKED");
      expect(await refreshReason(user.tokens.refreshToken)).toBe("TOKEN_REVOKED");
    });

    it("when another user's session, an unknown id, a malformed id or an empty one is revoked, then NOT_FOUND (VALIDATION_ERROR for empty) and nothing ends", async () => {
      const user = await signUp();
      const stranger = await signUp();
      const token = user.tokens.accessToken;
      for (const sessionId of [stranger.sessionId, "00000000-0000-4000-8000-000000000000", "not-a-session"]) {
        expect((await connect().call("RevokeSession", { sessionId }, { token })).reason, sessionId).toBe("NOT_FOUND");
      }
      expect((await connect().call("RevokeSession", { sessionId: " " }, { token })).reason).toBe("VALIDATION_ERROR");
      expect(await meReason(stranger.tokens.accessToken)).toBe("ok");
      expect(await refreshReason(stranger.tokens.refreshToken)).toBe("ok");
    });

    it("when a user is deactivated, then their access token gets USER_INACTIVE from the account calls", async () => {
      const user = await signUp();
      await server.app.services.auth.setActive(user.id, false);
      expect((await connect().call("ListSessions", {}, { token: user.tokens.accessToken })).reason).toBe(
        "USER_INACTIVE",
      );
    });
  });

  describe("password change", () => {
    it("when the new password breaks Register's policy, then VALIDATION_ERROR names new_password and the password stays", async () => {
      const user = await signUp();
      const token = user.tokens.accessToken;
      for (const newPassword of ["short", `${user.username}-2024-x`, "qwerty123456"]) {
        const refused = await connect().call(
          "ChangePassword",
          { currentPassword: user.password, newPassword },
          { token },
        );
        expect(refused.reason, newPassword).toBe("VALIDATION_ERROR");
        // Register refuses the same password too: one policy.
        const atRegister = await outcome(
          auth.register({ ...uniqueUser("acct"), username: user.username, password: newPassword }),
        );
        expect(atRegister.reason, newPassword).toBe("VALIDATION_ERROR");
      }
      await login(user.email, user.password);
    });

    it("when wrong current passwords are guessed, then they count toward Login's per-account limits, both ways", async () => {
      const user = await signUp();
      const token = user.tokens.accessToken;
      const guess = () =>
        connect().call(
          "ChangePassword",
          { currentPassword: "wrong-password-1", newPassword: "a-fine-new-pass" },
          { token, from: freshAddress() },
        );
      const reasons: string[] = [];
      for (let i = 0; i < 6; i++) reasons.push((await guess()).reason);
      expect(reasons.slice(0, 5)).toEqual(Array(5).fill("INVALID_CREDENTIALS"));
      // Past the free failures, the next attempt must wait: at Login too, the right password included.
      const atLogin = await outcome(auth.login({ emailOrUsername: user.email, password: user.password }, headers()));
      expect(atLogin.reason).toBe("RATE_LIMITED");
      expect(atLogin.retryMs).toBeGreaterThan(0);
      const held = await connect().call(
        "ChangePassword",
        { currentPassword: user.password, newPassword: "a-fine-new-pass" },
        { token, from: freshAddress() },
      );
      expect(held.reason).toBe("RATE_LIMITED");
      expect(held.retryMs).toBeGreaterThan(0);
    });
  });

  describe("password reset", () => {
    it("when a reset is asked for an unknown, a deactivated and a known address, then all answer the same and only the known one is queued", async () => {
      const known = await signUp();
      const inactive = await signUp();
      await server.app.services.auth.setActive(inactive.id, false);
      const unknownEmail = `ghost-${known.email}`;
      const answers = [];
      for (const email of [unknownEmail, inactive.email, known.email]) {
        answers.push(await connect().call("RequestPasswordReset", { email }, { from: freshAddress() }));
      }
      expect(answers).toEqual([answers[2], answers[2], { reason: "ok", body: {}, retryMs: undefined }]);
      await nthToken(known.email, 1);
      for (const email of [unknownEmail, inactive.email]) {
        expect(await countOf("select count(*) as n from mail_outbox where recipient = ?", [email])).toBe(0);
        expect(await mailsTo(email)).toEqual([]);
      }
      const audit = auditLines(server, "password_reset_requested");
      expect(audit.filter((l) => l.outcome === "ignored" && l.user_id === undefined).length).toBeGreaterThanOrEqual(2);
      expect(audit.some((l) => l.outcome === "success" && l.user_id === known.id)).toBe(true);
    });

    it("when known and unknown addresses are asked for many times, then the answers take the same time within a few milliseconds", async () => {
      const known = await Promise.all(Array.from({ length: 12 }, () => signUp()));
      const api = connect();
      const durations: number[] = [];
      const timed = async (email: string) => {
        // Each call starts with the dispatcher done with the previous one's
        // message: its sending is work after the answer, not part of it.
        await waitFor("the outbox to be sent", async () => {
          return (
            (await countOf("select count(*) as n from mail_outbox where status in ('queued', 'sending')", [])) === 0
          );
        });
        const started = performance.now();
        const r = await api.call("RequestPasswordReset", { email }, { from: freshAddress() });
        const ms = performance.now() - started;
        expect(r.reason).toBe("ok");
        durations.push(ms);
        return ms;
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
      const medianOf = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
      const median = medianOf(differences);
      // 5 ms on a quiet machine; on a loaded 2-core CI machine every call
      // stretches, so the bound grows with the typical call (a fifth of it).
      // The leak this guards against (mail work before the answer) was
      // 15 ms against calls of ~20 ms.
      const bound = Math.max(5, 0.2 * medianOf(durations));
      expect(
        Math.abs(median),
        `median known - unknown: ${median.toFixed(2)} ms (bound ${bound.toFixed(1)})`,
      ).toBeLessThan(bound);
    });

    it("when the link is used, then the password is the new one, every session has ended, and the e-mail is verified", async () => {
      const user = await signUp();
      const second = await login(user.email, user.password);
      await connect().call("RequestPasswordReset", { email: user.email }, { from: freshAddress() });
      const token = await nthToken(user.email, 1);
      expect((await connect().call("ResetPassword", { token, newPassword: `${user.password}-new` })).reason).toBe("ok");
      for (const s of [user.tokens, second]) {
        expect(await refreshReason(s.refreshToken)).toBe("TOKEN_REVOKED");
        expect(await meReason(s.accessToken)).toBe("TOKEN_REVOKED");
      }
      expect(
        (await outcome(auth.login({ emailOrUsername: user.email, password: user.password }, headers()))).reason,
      ).toBe("INVALID_CREDENTIALS");
      const fresh = await login(user.email, `${user.password}-new`);
      const me = await auth.getCurrentUser({}, { headers: { authorization: `Bearer ${fresh.accessToken}` } });
      expect(me.user?.emailVerified).toBe(true);
    });

    it("when one link is redeemed by several calls at once, then exactly one succeeds", async () => {
      const user = await signUp();
      await connect().call("RequestPasswordReset", { email: user.email }, { from: freshAddress() });
      const token = await nthToken(user.email, 1);
      const results = await Promise.all(
        [1, 2, 3].map(
          async (n) => (await connect().call("ResetPassword", { token, newPassword: `${user.password}-${n}` })).reason,
        ),
      );
      expect(results.sort()).toEqual(["INVALID_TOKEN", "INVALID_TOKEN", "ok"]);
    });

    it("when a newer link is mailed, or the password is changed, then older reset links die", async () => {
      const user = await signUp();
      await connect().call("RequestPasswordReset", { email: user.email }, { from: freshAddress() });
      await connect().call("RequestPasswordReset", { email: user.email }, { from: freshAddress() });
      const first = await nthToken(user.email, 1);
      const second = await nthToken(user.email, 2);
      expect((await connect().call("ResetPassword", { token: second, newPassword: `${user.password}-a` })).reason).toBe(
        "ok",
      );
      expect((await connect().call("ResetPassword", { token: first, newPassword: `${user.password}-b` })).reason).toBe(
        "INVALID_TOKEN",
      );
      const fresh = await login(user.email, `${user.password}-a`);
      await connect().call("RequestPasswordReset", { email: user.email }, { from: freshAddress() });
      const third = await nthToken(user.email, 3);
      await connect().call(
        "ChangePassword",
        { currentPassword: `${user.password}-a`, newPassword: `${user.password}-c` },
        { token: fresh.accessToken },
      );
      expect((await connect().call("ResetPassword", { token: third, newPassword: `${user.password}-d` })).reason).toBe(
        "INVALID_TOKEN",
      );
    });

    it("when the link is over an hour old, then TOKEN_EXPIRED; malformed or unknown, then INVALID_TOKEN; empty, then VALIDATION_ERROR", async () => {
      const user = await signUp();
      await connect().call("RequestPasswordReset", { email: user.email }, { from: freshAddress() });
      const token = await nthToken(user.email, 1);
      const newPassword = `${user.password}-new`;
      clock.advance(HOUR + 1000);
      expect((await connect().call("ResetPassword", { token, newPassword })).reason).toBe("TOKEN_EXPIRED");
      expect((await connect().call("ResetPassword", { token: "not-a-token", newPassword })).reason).toBe(
        "INVALID_TOKEN",
      );
      expect((await connect().call("ResetPassword", { token: "A".repeat(43), newPassword })).reason).toBe(
        "INVALID_TOKEN",
      );
      expect((await connect().call("ResetPassword", { token: "", newPassword })).reason).toBe("VALIDATION_ERROR");
      expect((await connect().call("RequestPasswordReset", { email: "not an address" })).reason).toBe(
        "VALIDATION_ERROR",
      );
    });

    it("when the new password breaks the policy, then VALIDATION_ERROR and the link still works", async () => {
      const user = await signUp();
      await connect().call("RequestPasswordReset", { email: user.email }, { from: freshAddress() });
      const token = await nthToken(user.email, 1);
      expect((await connect().call("ResetPassword", { token, newPassword: `${user.username}-123456` })).reason).toBe(
        "VALIDATION_ERROR",
      );
      expect((await connect().call("ResetPassword", { token, newPassword: "qwerty123456" })).reason).toBe(
        "VALIDATION_ERROR",
      );
      expect((await connect().call("ResetPassword", { token, newPassword: `${user.password}-fine` })).reason).toBe(
        "ok",
      );
    });

    it("when one account asks more often than MAIL_ACCOUNT_LIMIT, then every answer is the same but only the allowance is queued", async () => {
      const user = await signUp();
      for (let i = 0; i < 5; i++) {
        expect(await connect().call("RequestPasswordReset", { email: user.email }, { from: freshAddress() })).toEqual({
          reason: "ok",
          body: {},
          retryMs: undefined,
        });
      }
      await nthToken(user.email, 3);
      expect(await countOf("select count(*) as n from mail_outbox where user_id = ?", [user.id])).toBe(3);
    });

    it("when one client address asks past MAIL_ADDRESS_LIMIT, then RATE_LIMITED with a wait, whatever it asks for; other addresses go on", async () => {
      const from = "192.0.2.77";
      for (let i = 0; i < 3; i++) {
        expect(
          (await connect().call("RequestPasswordReset", { email: `x${i}-${from}@example.com` }, { from })).reason,
        ).toBe("ok");
      }
      for (const protocol of PROTOCOLS) {
        const refused = await accountCaller(protocol, server).call(
          "RequestPasswordReset",
          { email: "y@example.com" },
          { from },
        );
        expect(refused.reason, protocol).toBe("RATE_LIMITED");
        expect(refused.retryMs ?? 1000, protocol).toBeGreaterThan(0);
      }
      const user = await signUp();
      const verification = await connect().call("SendVerificationEmail", {}, { token: user.tokens.accessToken, from });
      expect(verification.reason).toBe("RATE_LIMITED");
      expect(
        (await connect().call("RequestPasswordReset", { email: "y@example.com" }, { from: freshAddress() })).reason,
      ).toBe("ok");
    });
    it("when the addresses of one IPv6 /64 ask past MAIL_ADDRESS_LIMIT, then they share one allowance (as Login's limits do); the next /64 goes on", async () => {
      const net = "2001:db8:77:1";
      for (let i = 1; i <= 3; i++) {
        const from = `${net}::${i}`;
        expect((await connect().call("RequestPasswordReset", { email: `v6-${i}@example.com` }, { from })).reason).toBe(
          "ok",
        );
        expect((await connect().call("VerifyEmail", { token: "B".repeat(43) }, { from })).reason).toBe("INVALID_TOKEN");
      }
      const sameNet = `${net}:ffff:ffff:ffff:ffff`;
      expect(
        (await connect().call("RequestPasswordReset", { email: "v6-4@example.com" }, { from: sameNet })).reason,
      ).toBe("RATE_LIMITED");
      expect((await connect().call("VerifyEmail", { token: "B".repeat(43) }, { from: sameNet })).reason).toBe(
        "RATE_LIMITED",
      );
      const nextNet = "2001:db8:77:2::1";
      expect(
        (await connect().call("RequestPasswordReset", { email: "v6-5@example.com" }, { from: nextNet })).reason,
      ).toBe("ok");
    });

    it("when one client address redeems past MAIL_ADDRESS_LIMIT (ResetPassword and VerifyEmail, counted apart from mail), then RATE_LIMITED before any token is looked at; other addresses go on", async () => {
      const from = "192.0.2.78";
      const guess = () => "A".repeat(43);
      for (let i = 0; i < 3; i++) {
        const call = i % 2 === 0 ? "ResetPassword" : "VerifyEmail";
        const body =
          i % 2 === 0 ? { token: guess(), newPassword: "an unguessable new passphrase 42" } : { token: guess() };
        expect((await connect().call(call, body, { from })).reason).toBe("INVALID_TOKEN");
      }
      for (const protocol of PROTOCOLS) {
        const refused = await accountCaller(protocol, server).call("VerifyEmail", { token: guess() }, { from });
        expect(refused.reason, protocol).toBe("RATE_LIMITED");
        expect(refused.retryMs ?? 1000, protocol).toBeGreaterThan(0);
      }
      // A real link from the same address is refused too (the limit is the address's), and works elsewhere.
      const user = await signUp();
      await connect().call("SendVerificationEmail", {}, { token: user.tokens.accessToken, from: freshAddress() });
      const link = await nthToken(user.email, 1);
      expect((await connect().call("VerifyEmail", { token: link }, { from })).reason).toBe("RATE_LIMITED");
      expect((await connect().call("VerifyEmail", { token: link }, { from: freshAddress() })).reason).toBe("ok");
      // The mail-sending calls keep their own count at this address.
      expect((await connect().call("RequestPasswordReset", { email: `z-${from}@example.com` }, { from })).reason).toBe(
        "ok",
      );
    });
  });

  describe("e-mail verification", () => {
    it("when the address is already verified, then SendVerificationEmail is a no-op", async () => {
      const user = await signUp();
      const token = user.tokens.accessToken;
      await connect().call("SendVerificationEmail", {}, { token, from: freshAddress() });
      await connect().call("VerifyEmail", { token: await nthToken(user.email, 1) });
      expect((await connect().call("SendVerificationEmail", {}, { token, from: freshAddress() })).reason).toBe("ok");
      expect(await countOf("select count(*) as n from mail_outbox where user_id = ?", [user.id])).toBe(1);
    });

    it("when a verification link is a day old, then TOKEN_EXPIRED; a reset link does not verify, nor a verification link reset", async () => {
      const user = await signUp();
      await connect().call("SendVerificationEmail", {}, { token: user.tokens.accessToken, from: freshAddress() });
      const verifyToken = await nthToken(user.email, 1);
      await connect().call("RequestPasswordReset", { email: user.email }, { from: freshAddress() });
      const resetToken = await nthToken(user.email, 2);
      expect((await connect().call("VerifyEmail", { token: resetToken })).reason).toBe("INVALID_TOKEN");
      expect(
        (await connect().call("ResetPassword", { token: verifyToken, newPassword: `${user.password}-x` })).reason,
      ).toBe("INVALID_TOKEN");
      clock.advance(24 * HOUR + 1000);
      expect((await connect().call("VerifyEmail", { token: verifyToken })).reason).toBe("TOKEN_EXPIRED");
      expect((await connect().call("VerifyEmail", { token: "" })).reason).toBe("VALIDATION_ERROR");
    });
  });

  describe("account deletion", () => {
    it("when the account is deleted, then every row of the user goes, their tokens and links stop working at once, and the audit line names only the user id", async () => {
      const user = await signUp();
      const other = await login(user.email, user.password);
      await auth.refresh({ refreshToken: other.refreshToken });
      await connect().call("RequestPasswordReset", { email: user.email }, { from: freshAddress() });
      const resetToken = await nthToken(user.email, 1);
      await connect().call("SendVerificationEmail", {}, { token: user.tokens.accessToken, from: freshAddress() });
      const deleted = await connect().call(
        "DeleteAccount",
        { password: user.password },
        { token: user.tokens.accessToken },
      );
      expect(deleted.reason).toBe("ok");
      expect(await countOf("select count(*) as n from users where id = ?", [user.id])).toBe(0);
      for (const table of ["sessions", "account_tokens", "mail_outbox"]) {
        expect(await countOf(`select count(*) as n from ${table} where user_id = ?`, [user.id]), table).toBe(0);
      }
      expect(
        await countOf("select count(*) as n from refresh_tokens where session_id in (?, ?)", [
          user.sessionId,
          other.sessionId,
        ]),
      ).toBe(0);
      expect(await meReason(other.accessToken)).toBe("INVALID_TOKEN");
      expect(await refreshReason(other.refreshToken)).toBe("INVALID_TOKEN");
      expect(
        (await connect().call("ResetPassword", { token: resetToken, newPassword: "another-password-1" })).reason,
      ).toBe("INVALID_TOKEN");
      expect(
        (await outcome(auth.login({ emailOrUsername: user.email, password: user.password }, headers()))).reason,
      ).toBe("INVALID_CREDENTIALS");
      const line = auditLines(server, "account_deleted").find((l) => l.user_id === user.id);
      expect(line).toMatchObject({ outcome: "success" });
      expect(JSON.stringify(line)).not.toContain(user.email);
      expect(JSON.stringify(line)).not.toContain(user.username);
    });
  });

  describe("audit, metrics and secrets", () => {
    it("when the suite has run, then every account event has audit lines and counts", async () => {
      const events = [
        "password_changed",
        "password_reset_requested",
        "password_reset",
        "email_verification_requested",
        "email_verified",
        "session_revoked",
        "account_deleted",
      ];
      const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
      for (const event of events) {
        const lines = auditLines(server, event);
        expect(
          lines.some((l) => l.outcome === "success"),
          event,
        ).toBe(true);
        expect(
          lines.every((l) => typeof l.request_id === "string" && typeof l.client_address === "string"),
          event,
        ).toBe(true);
        const counted = metrics
          .split("\n")
          .filter((l) => l.startsWith("warden_account_events_total{") && l.includes(`event="${event}"`))
          .filter((l) => l.includes('outcome="success"'))
          .map((l) => Number(l.split(" ").at(-1)));
        expect(
          counted.reduce((a, b) => a + b, 0),
          event,
        ).toBeGreaterThan(0);
      }
      expect(metrics).toMatch(/warden_mail_queued_total\{kind="password_reset"\} [1-9]/);
      expect(metrics).toMatch(/warden_mail_sent_total\{kind="email_verification"\} [1-9]/);
    });

    it("when the suite has run, then no reset or verification token it saw appears in any log line at debug", async () => {
      // A health call is logged at debug only: proof the server really writes debug lines.
      await healthClient(server.baseUrl).check({ service: "" });
      await waitFor("a debug line", () => server.logs.some((l) => l.level === "debug"));
      expect(TEST_ENV.LOG_LEVEL).toBe("debug");
      expect(seenTokens.length).toBeGreaterThan(10);
      for (const token of seenTokens) expect(server.rawLogs.filter((line) => line.includes(token))).toEqual([]);
    });
  });
});
