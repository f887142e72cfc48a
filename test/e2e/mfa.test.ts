import { type Client, Code, createClient } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountService } from "../../gen/auth/v1/account_pb.js";
import {
  type AuthClient,
  authClient,
  connectTransport,
  grpcJsCall,
  grpcJsClient,
  grpcTransport,
} from "../helpers/clients.js";
import { describeEachDatabase, queryDatabase } from "../helpers/databases.js";
import { connectFailure, grpcJsFailure } from "../helpers/errors.js";
import { auditLines, startServer, type TestServer, testClock, uniqueUser } from "../helpers/server.js";
import { totpCode } from "../helpers/totp.js";

/**
 * The second factor over the network (issue 14): AccountService's TOTP
 * RPCs, Login's challenge and VerifyMfa, the amr claim and User.mfa_enabled,
 * on SQLite and PostgreSQL, over Connect, gRPC (grpc-js) and REST. The
 * server runs on a clock the tests move, and the tests compute codes from
 * the secret as an authenticator app would (test/helpers/totp.ts).
 */

type AccountClient = Client<typeof AccountService>;
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const STEP_MS = 30_000;

await describeEachDatabase(describe, "second factor over the network", (kind) => {
  let server: TestServer;
  let auth: AuthClient;
  let account: AccountClient;
  const clock = testClock();
  /** The next TOTP step: a code never accepted before for anyone enrolled earlier. */
  const nextStep = () => clock.advance(STEP_MS);
  const code = (secret: string) => totpCode(secret, clock.now());

  beforeAll(async () => {
    server = await startServer({ db: kind, clock, env: { TOTP_ISSUER: "Warden Test" } });
    auth = authClient(connectTransport(server.baseUrl));
    account = createClient(AccountService, connectTransport(server.baseUrl));
  });
  afterAll(() => server?.close());

  /** Registers a user and turns TOTP on; the clock then moves to the next step. */
  async function enrolled() {
    const u = uniqueUser("mfa");
    const reg = await auth.register(u);
    const accessToken = reg.tokens?.accessToken ?? "";
    const { secret, otpauthUri } = await account.setupTotp({ password: u.password }, bearer(accessToken));
    const confirmCode = code(secret);
    const { recoveryCodes } = await account.confirmTotp({ code: confirmCode }, bearer(accessToken));
    nextStep();
    return { u, reg, accessToken, secret, otpauthUri, confirmCode, recoveryCodes };
  }

  /** Logs in with the password and returns the challenge (failing the test if tokens came instead). */
  async function challenge(u: { username: string; password: string }) {
    const res = await auth.login({ emailOrUsername: u.username, password: u.password });
    expect(res.tokens).toBeUndefined();
    expect(res.user).toBeUndefined();
    expect(res.mfa).toBeDefined();
    return res.mfa?.challengeToken ?? "";
  }

  const verifiedAmr = async (accessToken: string) => {
    const jwks = createRemoteJWKSet(new URL(`${server.baseUrl}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(accessToken, jwks, { issuer: "warden", audience: "warden", typ: "at+jwt" });
    return payload.amr;
  };

  describe("enrolment", () => {
    it("when TOTP is set up, then the password is required, the URI names issuer and e-mail, and login is unchanged until confirmed", async () => {
      const u = uniqueUser("mfa");
      const reg = await auth.register(u);
      const token = reg.tokens?.accessToken ?? "";
      const wrong = await connectFailure(account.setupTotp({ password: "not the password at all" }, bearer(token)));
      expect(wrong.reason).toBe("INVALID_CREDENTIALS");
      const anonymous = await connectFailure(account.setupTotp({ password: u.password }));
      expect(anonymous.reason).toBe("INVALID_TOKEN");

      const { secret, otpauthUri } = await account.setupTotp({ password: u.password }, bearer(token));
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      const uri = new URL(otpauthUri);
      expect(uri.protocol).toBe("otpauth:");
      expect(uri.host).toBe("totp");
      expect(decodeURIComponent(uri.pathname)).toBe(`/Warden Test:${u.email}`);
      expect(uri.searchParams.get("issuer")).toBe("Warden Test");
      expect(uri.searchParams.get("secret")).toBe(secret);
      expect(uri.searchParams.get("digits") ?? "6").toBe("6");
      expect(uri.searchParams.get("period") ?? "30").toBe("30");

      // Pending: Login still opens a session, and the user has no factor yet.
      const login = await auth.login({ emailOrUsername: u.email, password: u.password });
      expect(login.tokens?.accessToken).toBeTruthy();
      expect(login.mfa).toBeUndefined();
      expect(login.user?.mfaEnabled).toBe(false);
      expect((await auth.getCurrentUser({}, bearer(token))).user?.mfaEnabled).toBe(false);
    });

    it("when ConfirmTotp gets a wrong code, then INVALID_CREDENTIALS and nothing changes; a right one returns 10 recovery codes, sets mfa_enabled and revokes the other sessions", async () => {
      const u = uniqueUser("mfa");
      const reg = await auth.register(u);
      const token = reg.tokens?.accessToken ?? "";
      const nothing = await connectFailure(account.confirmTotp({ code: "123456" }, bearer(token)));
      expect(nothing.code).toBe(Code.FailedPrecondition);
      expect(nothing.reason).toBe("FAILED_PRECONDITION");

      const other = await auth.login({ emailOrUsername: u.username, password: u.password });
      const { secret } = await account.setupTotp({ password: u.password }, bearer(token));
      const right = code(secret);
      const wrongCode = right === "000000" ? "000001" : "000000";
      const wrong = await connectFailure(account.confirmTotp({ code: wrongCode }, bearer(token)));
      expect(wrong.code).toBe(Code.Unauthenticated);
      expect(wrong.reason).toBe("INVALID_CREDENTIALS");
      expect((await auth.getCurrentUser({}, bearer(token))).user?.mfaEnabled).toBe(false);

      const { recoveryCodes } = await account.confirmTotp({ code: right }, bearer(token));
      expect(recoveryCodes).toHaveLength(10);
      expect(new Set(recoveryCodes).size).toBe(10);
      for (const c of recoveryCodes) expect(c).toMatch(/^[0-9a-z]{5}-[0-9a-z]{5}$/);
      // The calling session stays, and now says mfa_enabled.
      expect((await auth.getCurrentUser({}, bearer(token))).user?.mfaEnabled).toBe(true);
      // The other one was opened without the factor: ended.
      const otherMe = await connectFailure(auth.getCurrentUser({}, bearer(other.tokens?.accessToken ?? "")));
      expect(otherMe.reason).toBe("TOKEN_REVOKED");
      const otherRefresh = await connectFailure(auth.refresh({ refreshToken: other.tokens?.refreshToken ?? "" }));
      expect(otherRefresh.reason).toBe("TOKEN_REVOKED");
      // Nothing is left to confirm, and a second enrolment over it is refused.
      expect((await connectFailure(account.confirmTotp({ code: right }, bearer(token)))).reason).toBe(
        "FAILED_PRECONDITION",
      );
      expect((await connectFailure(account.setupTotp({ password: u.password }, bearer(token)))).reason).toBe(
        "FAILED_PRECONDITION",
      );
      expect(auditLines(server, "mfa_enabled")).toContainEqual(
        expect.objectContaining({ outcome: "success", user_id: reg.user?.id, client_address: "127.0.0.1" }),
      );
    });
  });

  describe("login with a second factor", () => {
    it("when the password is right, then Login returns only the challenge; VerifyMfa with a current code signs in with amr pwd+otp, verified against the JWKS and kept by Refresh", async () => {
      const { u, reg, secret } = await enrolled();
      const res = await auth.login({ emailOrUsername: u.email, password: u.password });
      expect(res.user).toBeUndefined();
      expect(res.tokens).toBeUndefined();
      expect(res.mfa?.methods).toEqual(["totp", "recovery_code"]);
      expect(res.mfa?.expiresIn).toBeGreaterThan(0);
      expect(res.mfa?.expiresIn).toBeLessThanOrEqual(300);
      expect(res.mfa?.challengeToken).toMatch(/^[A-Za-z0-9_-]{43}$/);

      const done = await auth.verifyMfa({ challengeToken: res.mfa?.challengeToken ?? "", code: code(secret) });
      expect(done.user?.id).toBe(reg.user?.id);
      expect(done.user?.mfaEnabled).toBe(true);
      expect(done.user?.lastLoginAt).toBeDefined();
      expect(await verifiedAmr(done.tokens?.accessToken ?? "")).toEqual(["pwd", "otp"]);
      const me = await auth.getCurrentUser({}, bearer(done.tokens?.accessToken ?? ""));
      expect(me.user?.mfaEnabled).toBe(true);

      // The session keeps its amr across refreshes.
      const refreshed = await auth.refresh({ refreshToken: done.tokens?.refreshToken ?? "" });
      expect(await verifiedAmr(refreshed.tokens?.accessToken ?? "")).toEqual(["pwd", "otp"]);
      const again = await auth.refresh({ refreshToken: refreshed.tokens?.refreshToken ?? "" });
      expect(await verifiedAmr(again.tokens?.accessToken ?? "")).toEqual(["pwd", "otp"]);
      // A session opened with the password alone says so.
      expect(await verifiedAmr(reg.tokens?.accessToken ?? "")).toEqual(["pwd"]);
      // Single use: the challenge is gone.
      const reused = await connectFailure(
        auth.verifyMfa({ challengeToken: res.mfa?.challengeToken ?? "", code: code(secret) }),
      );
      expect(reused.reason).toBe("INVALID_TOKEN");
    });

    it("when the password is wrong, then an account with a factor answers exactly like one without", async () => {
      const { u } = await enrolled();
      const plain = uniqueUser("plain");
      await auth.register(plain);
      const withFactor = await connectFailure(
        auth.login({ emailOrUsername: u.username, password: "wrong password!!" }),
      );
      const without = await connectFailure(
        auth.login({ emailOrUsername: plain.username, password: "wrong password!!" }),
      );
      expect([withFactor.code, withFactor.reason, withFactor.message]).toEqual([
        without.code,
        without.reason,
        without.message,
      ]);
      expect(withFactor.reason).toBe("INVALID_CREDENTIALS");
    });

    it("when a TOTP code was already accepted (by ConfirmTotp or a login), then it is refused as INVALID_CREDENTIALS", async () => {
      const { u, secret, confirmCode } = await enrolled();
      // Back in the confirming step: its code is spent, though still inside the skew window.
      clock.advance(-STEP_MS);
      try {
        const spent = await connectFailure(auth.verifyMfa({ challengeToken: await challenge(u), code: confirmCode }));
        expect(spent.reason).toBe("INVALID_CREDENTIALS");
      } finally {
        clock.advance(STEP_MS);
      }
      const fresh = code(secret);
      const ok = await auth.verifyMfa({ challengeToken: await challenge(u), code: fresh });
      expect(ok.tokens?.accessToken).toBeTruthy();
      const replay = await connectFailure(auth.verifyMfa({ challengeToken: await challenge(u), code: fresh }));
      expect(replay.code).toBe(Code.Unauthenticated);
      expect(replay.reason).toBe("INVALID_CREDENTIALS");
      expect(auditLines(server, "mfa_challenge_failed")).toContainEqual(
        expect.objectContaining({ outcome: "failure", reason: "INVALID_CREDENTIALS", user_id: ok.user?.id }),
      );
    });

    it("when a recovery code is used, then it signs in once with amr pwd+mfa and is refused the second time", async () => {
      const { u, recoveryCodes } = await enrolled();
      const [first] = recoveryCodes;
      const ok = await auth.verifyMfa({ challengeToken: await challenge(u), code: first ?? "" });
      expect(await verifiedAmr(ok.tokens?.accessToken ?? "")).toEqual(["pwd", "mfa"]);
      const refreshed = await auth.refresh({ refreshToken: ok.tokens?.refreshToken ?? "" });
      expect(await verifiedAmr(refreshed.tokens?.accessToken ?? "")).toEqual(["pwd", "mfa"]);
      const twice = await connectFailure(auth.verifyMfa({ challengeToken: await challenge(u), code: first ?? "" }));
      expect(twice.reason).toBe("INVALID_CREDENTIALS");
    });

    it("when 5 wrong codes are sent, then the challenge is dead: the right code then gets INVALID_TOKEN", async () => {
      const { u, secret } = await enrolled();
      const token = await challenge(u);
      for (const wrong of ["000000", "111111", "222222", "abcde-fghjk", "333333"]) {
        const f = await connectFailure(auth.verifyMfa({ challengeToken: token, code: wrong }));
        expect(f.reason).toBe("INVALID_CREDENTIALS");
      }
      const dead = await connectFailure(auth.verifyMfa({ challengeToken: token, code: code(secret) }));
      expect(dead.code).toBe(Code.Unauthenticated);
      expect(dead.reason).toBe("INVALID_TOKEN");
      // A new login gets a new challenge, and the code was not spent by the dead one.
      const ok = await auth.verifyMfa({ challengeToken: await challenge(u), code: code(secret) });
      expect(ok.tokens?.accessToken).toBeTruthy();
    });

    it("when a challenge outlives its lifetime, then VerifyMfa answers TOKEN_EXPIRED; an unknown one INVALID_TOKEN", async () => {
      const { u, secret } = await enrolled();
      const token = await challenge(u);
      clock.advance(301_000);
      const expired = await connectFailure(auth.verifyMfa({ challengeToken: token, code: code(secret) }));
      expect(expired.code).toBe(Code.Unauthenticated);
      expect(expired.reason).toBe("TOKEN_EXPIRED");
      const unknown = await connectFailure(auth.verifyMfa({ challengeToken: "A".repeat(43), code: code(secret) }));
      expect(unknown.reason).toBe("INVALID_TOKEN");
      const empty = await connectFailure(auth.verifyMfa({ challengeToken: token, code: "" }));
      expect(empty.reason).toBe("VALIDATION_ERROR");
    });

    it("when the user is deactivated while a challenge is open, then VerifyMfa answers USER_INACTIVE", async () => {
      const { u, reg, secret } = await enrolled();
      const token = await challenge(u);
      await server.app.services.auth.setActive(reg.user?.id ?? "", false);
      const f = await connectFailure(auth.verifyMfa({ challengeToken: token, code: code(secret) }));
      expect(f.code).toBe(Code.PermissionDenied);
      expect(f.reason).toBe("USER_INACTIVE");
    });
  });

  describe("managing the factor", () => {
    it("when the factor is disabled, then the password is required, login needs no code again, and no session is revoked", async () => {
      const { u, accessToken, secret } = await enrolled();
      const second = await auth.verifyMfa({ challengeToken: await challenge(u), code: code(secret) });
      const wrong = await connectFailure(
        account.disableTotp({ password: "not the password at all" }, bearer(accessToken)),
      );
      expect(wrong.reason).toBe("INVALID_CREDENTIALS");
      await account.disableTotp({ password: u.password }, bearer(accessToken));

      const login = await auth.login({ emailOrUsername: u.username, password: u.password });
      expect(login.mfa).toBeUndefined();
      expect(login.user?.mfaEnabled).toBe(false);
      expect(await verifiedAmr(login.tokens?.accessToken ?? "")).toEqual(["pwd"]);
      // Both earlier sessions live on.
      expect((await auth.getCurrentUser({}, bearer(accessToken))).user?.mfaEnabled).toBe(false);
      expect((await auth.getCurrentUser({}, bearer(second.tokens?.accessToken ?? ""))).user?.id).toBeTruthy();
      for (const call of [
        () => account.disableTotp({ password: u.password }, bearer(accessToken)),
        () => account.regenerateRecoveryCodes({ password: u.password }, bearer(accessToken)),
      ]) {
        const f = await connectFailure(call());
        expect(f.code).toBe(Code.FailedPrecondition);
        expect(f.reason).toBe("FAILED_PRECONDITION");
      }
      expect(auditLines(server, "mfa_disabled")).toContainEqual(
        expect.objectContaining({ outcome: "success", user_id: login.user?.id }),
      );
    });

    it("when recovery codes are regenerated, then the old set stops working and the new one works", async () => {
      const { u, accessToken, recoveryCodes } = await enrolled();
      const wrong = await connectFailure(
        account.regenerateRecoveryCodes({ password: "not the password at all" }, bearer(accessToken)),
      );
      expect(wrong.reason).toBe("INVALID_CREDENTIALS");
      const fresh = (await account.regenerateRecoveryCodes({ password: u.password }, bearer(accessToken)))
        .recoveryCodes;
      expect(fresh).toHaveLength(10);
      const old = await connectFailure(
        auth.verifyMfa({ challengeToken: await challenge(u), code: recoveryCodes[0] ?? "" }),
      );
      expect(old.reason).toBe("INVALID_CREDENTIALS");
      const ok = await auth.verifyMfa({ challengeToken: await challenge(u), code: fresh[0] ?? "" });
      expect(await verifiedAmr(ok.tokens?.accessToken ?? "")).toEqual(["pwd", "mfa"]);
      expect(auditLines(server, "recovery_codes_regenerated")).toContainEqual(
        expect.objectContaining({ outcome: "success", user_id: ok.user?.id }),
      );
    });

    it("when an operator resets a user's second factor (services.mfa.resetUserMfa), then login needs no code and it is audited", async () => {
      const { u, reg } = await enrolled();
      await server.app.services.mfa.resetUserMfa(reg.user?.id ?? "");
      const login = await auth.login({ emailOrUsername: u.username, password: u.password });
      expect(login.mfa).toBeUndefined();
      expect(login.user?.mfaEnabled).toBe(false);
      expect(auditLines(server, "mfa_reset")).toContainEqual(
        expect.objectContaining({ outcome: "success", user_id: reg.user?.id }),
      );
    });

    it("when the database is copied after enrolment, then it holds neither the TOTP secret nor a recovery code", async () => {
      const { secret, recoveryCodes, reg } = await enrolled();
      const dump = JSON.stringify(
        await Promise.all(
          ["users", "sessions", "mfa_totp_factors", "mfa_recovery_codes", "mfa_challenges"].map((t) =>
            queryDatabase(server.db, `select * from ${t}`),
          ),
        ),
      );
      expect(dump).toContain(reg.user?.id);
      for (const s of [secret, secret.toLowerCase()]) expect(dump).not.toContain(s);
      for (const c of recoveryCodes) {
        expect(dump).not.toContain(c);
        expect(dump).not.toContain(c.replace("-", ""));
      }
    });
  });

  describe("other protocols", () => {
    it("when the whole flow runs over gRPC (grpc-js and Connect's gRPC client), then it behaves the same", async () => {
      const u = uniqueUser("grpc");
      const g = grpcJsClient(server.port);
      const ga = grpcJsClient(server.port, "auth.v1.AccountService", "auth/v1/account.proto");
      try {
        const reg = await grpcJsCall<{ tokens: { access_token: string } }>(g, "Register", u);
        const md = new grpc.Metadata();
        md.set("authorization", `Bearer ${reg.response?.tokens.access_token}`);
        const setup = await grpcJsCall<{ secret: string; otpauth_uri: string }>(
          ga,
          "SetupTotp",
          { password: u.password },
          md,
        );
        const secret = setup.response?.secret ?? "";
        expect(setup.response?.otpauth_uri).toMatch(/^otpauth:\/\/totp\//);
        const wrong = await grpcJsCall(ga, "ConfirmTotp", { code: "12345" }, md);
        expect(grpcJsFailure(wrong.error).reason).toBe("INVALID_CREDENTIALS");
        const confirmed = await grpcJsCall<{ recovery_codes: string[] }>(ga, "ConfirmTotp", { code: code(secret) }, md);
        expect(confirmed.response?.recovery_codes).toHaveLength(10);
        nextStep();

        const login = await grpcJsCall<{ user?: unknown; tokens?: unknown; mfa: { challenge_token: string } }>(
          g,
          "Login",
          { email_or_username: u.username, password: u.password },
        );
        expect(login.response?.tokens).toBeFalsy();
        expect(login.response?.user).toBeFalsy();
        const challengeToken = login.response?.mfa.challenge_token ?? "";
        const bad = await grpcJsCall(g, "VerifyMfa", { challenge_token: challengeToken, code: "000000" });
        const failure = grpcJsFailure(bad.error);
        expect(failure.code).toBe(Code.Unauthenticated);
        expect(failure.reason).toBe("INVALID_CREDENTIALS");
        const ok = await grpcJsCall<{ user: { mfa_enabled: boolean }; tokens: { access_token: string } }>(
          g,
          "VerifyMfa",
          { challenge_token: challengeToken, code: code(secret) },
        );
        expect(ok.error).toBeUndefined();
        expect(ok.response?.user.mfa_enabled).toBe(true);
        expect(await verifiedAmr(ok.response?.tokens.access_token ?? "")).toEqual(["pwd", "otp"]);

        // Connect's own gRPC transport (HTTP/2) disables it again.
        const grpcAccount = createClient(AccountService, grpcTransport(server.baseUrl));
        await grpcAccount.disableTotp({ password: u.password }, bearer(ok.response?.tokens.access_token ?? ""));
        const plain = await authClient(grpcTransport(server.baseUrl)).login({
          emailOrUsername: u.username,
          password: u.password,
        });
        expect(plain.mfa).toBeUndefined();
      } finally {
        g.close();
        ga.close();
      }
    });

    it("when the whole flow runs over the REST routes, then bodies use the proto field names and errors the JSON error body", async () => {
      const u = uniqueUser("rest");
      const call = async (path: string, body: unknown, token?: string) => {
        const res = await fetch(server.baseUrl + path, {
          method: "POST",
          headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(body),
        });
        return { status: res.status, json: (await res.json()) as Record<string, unknown> };
      };
      const reg = await call("/auth/register", u);
      expect(reg.status).toBe(200);
      const token = (reg.json.tokens as { access_token: string }).access_token;
      const setup = await call("/account/mfa/totp", { password: u.password }, token);
      expect(setup.status).toBe(200);
      const secret = String(setup.json.secret);
      expect(String(setup.json.otpauth_uri)).toMatch(/^otpauth:\/\/totp\//);
      const confirmed = await call("/account/mfa/totp/confirm", { code: code(secret) }, token);
      expect(confirmed.status).toBe(200);
      expect(confirmed.json.recovery_codes).toHaveLength(10);
      nextStep();

      const login = await call("/auth/login", { email_or_username: u.email, password: u.password });
      expect(login.status).toBe(200);
      expect(login.json.tokens).toBeUndefined();
      expect(login.json.user).toBeUndefined();
      const mfa = login.json.mfa as { challenge_token: string; methods: string[]; expires_in: number };
      expect(mfa.methods).toEqual(["totp", "recovery_code"]);
      expect(mfa.expires_in).toBeLessThanOrEqual(300);
      const wrong = await call("/auth/mfa/verify", { challenge_token: mfa.challenge_token, code: "000000" });
      expect(wrong.status).toBe(401);
      expect(wrong.json.error_code).toBe("INVALID_CREDENTIALS");
      const ok = await call("/auth/mfa/verify", { challengeToken: mfa.challenge_token, code: code(secret) });
      expect(ok.status).toBe(200);
      const tokens = ok.json.tokens as { access_token: string; refresh_token: string };
      const me = await fetch(`${server.baseUrl}/users/me`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      expect(((await me.json()) as { user: { mfa_enabled: boolean } }).user.mfa_enabled).toBe(true);

      const regenerated = await call("/account/mfa/recovery-codes", { password: u.password }, tokens.access_token);
      expect(regenerated.json.recovery_codes).toHaveLength(10);
      const disabled = await call("/account/mfa/totp/disable", { password: u.password }, tokens.access_token);
      expect(disabled.status).toBe(200);
      const again = await call("/account/mfa/totp/disable", { password: u.password }, tokens.access_token);
      expect(again.status).toBe(412);
      expect(again.json.error_code).toBe("FAILED_PRECONDITION");

      // No secret of the flow reached a log line: not the TOTP secret, a code, the challenge or a recovery code.
      const logs = server.rawLogs.join("\n");
      const codes = [...(confirmed.json.recovery_codes as string[]), ...(regenerated.json.recovery_codes as string[])];
      for (const s of [secret, mfa.challenge_token, tokens.access_token, tokens.refresh_token, u.password, ...codes]) {
        expect(logs).not.toContain(s);
      }
      // ...while the audit lines of the flow are there.
      expect(logs).toContain((ok.json.user as { id: string }).id);
    });
  });
});

await describeEachDatabase(describe, "second factor and the per-account login limits", (kind) => {
  let server: TestServer;
  let auth: AuthClient;
  let account: AccountClient;
  const clock = testClock();

  beforeAll(async () => {
    server = await startServer({
      db: kind,
      clock,
      env: { LOGIN_ACCOUNT_FREE_FAILURES: "2", LOGIN_ACCOUNT_MAX_FAILURES: "3" },
    });
    auth = authClient(connectTransport(server.baseUrl));
    account = createClient(AccountService, connectTransport(server.baseUrl));
  });
  afterAll(() => server?.close());

  it("when wrong passwords and wrong codes add up to the limit, then the account is blocked; an expired or unknown challenge still answers before the limit", async () => {
    const u = uniqueUser("limit");
    const reg = await auth.register(u);
    const token = reg.tokens?.accessToken ?? "";
    const { secret } = await account.setupTotp({ password: u.password }, bearer(token));
    await account.confirmTotp({ code: totpCode(secret, clock.now()) }, bearer(token));
    clock.advance(STEP_MS);

    for (let i = 0; i < 2; i++) {
      const f = await connectFailure(auth.login({ emailOrUsername: u.username, password: "wrong password!!" }));
      expect(f.reason).toBe("INVALID_CREDENTIALS");
    }
    // The right password opens challenges without clearing the count.
    const first = await auth.login({ emailOrUsername: u.username, password: u.password });
    const second = await auth.login({ emailOrUsername: u.username, password: u.password });
    const wrongCode = await connectFailure(
      auth.verifyMfa({ challengeToken: first.mfa?.challengeToken ?? "", code: "000000" }),
    );
    expect(wrongCode.reason).toBe("INVALID_CREDENTIALS");
    // Two wrong passwords and one wrong code: the third failure blocks the account.
    const blocked = await connectFailure(
      auth.verifyMfa({ challengeToken: first.mfa?.challengeToken ?? "", code: totpCode(secret, clock.now()) }),
    );
    expect(blocked.code).toBe(Code.ResourceExhausted);
    expect(blocked.reason).toBe("RATE_LIMITED");
    expect(blocked.retryDelaySeconds).toBeGreaterThan(0n);
    const login = await connectFailure(auth.login({ emailOrUsername: u.username, password: u.password }));
    expect(login.reason).toBe("RATE_LIMITED");
    expect(auditLines(server, "mfa_challenge_failed")).toContainEqual(
      expect.objectContaining({ outcome: "blocked", reason: "RATE_LIMITED", user_id: reg.user?.id }),
    );

    // Challenge errors come first: unknown, then expired, before the block.
    const unknown = await connectFailure(auth.verifyMfa({ challengeToken: "B".repeat(43), code: "000000" }));
    expect(unknown.reason).toBe("INVALID_TOKEN");
    clock.advance(301_000);
    const expired = await connectFailure(
      auth.verifyMfa({ challengeToken: second.mfa?.challengeToken ?? "", code: totpCode(secret, clock.now()) }),
    );
    expect(expired.reason).toBe("TOKEN_EXPIRED");
  });
});
