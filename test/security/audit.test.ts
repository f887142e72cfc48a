import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthClient, authClient, connectTransport } from "../helpers/clients.js";
import { outcome } from "../helpers/errors.js";
import { auditLines, startServer, type TestServer, uniqueUser } from "../helpers/server.js";

describe("audit trail", () => {
  let server: TestServer;
  let client: AuthClient;
  const u = uniqueUser();
  const secrets: string[] = [u.password];
  let userId = "";
  const from = (address: string, requestId: string) => ({
    headers: { "x-forwarded-for": address, "x-request-id": requestId },
  });

  beforeAll(async () => {
    server = await startServer({
      env: {
        TRUSTED_PROXIES: "127.0.0.1",
        LOGIN_ACCOUNT_FREE_FAILURES: "2",
        LOGIN_ACCOUNT_MAX_FAILURES: "2",
        REFRESH_REUSE_INTERVAL: "0",
      },
    });
    client = authClient(connectTransport(server.baseUrl));
    // One of each security event, each from its own address and request id.
    const reg = await client.register(u, from("192.0.2.1", "req-register"));
    userId = reg.user?.id ?? "";
    const login = await client.login(
      { emailOrUsername: u.username, password: u.password },
      from("192.0.2.2", "req-login-ok"),
    );
    await outcome(
      client.login({ emailOrUsername: u.username, password: "wrong-password-1" }, from("192.0.2.3", "req-login-bad")),
    );
    await outcome(
      client.login(
        { emailOrUsername: "nobody-here", password: "wrong-password-2" },
        from("192.0.2.4", "req-login-unknown"),
      ),
    );
    const refreshed = await client.refresh(
      { refreshToken: login.tokens?.refreshToken ?? "" },
      from("192.0.2.5", "req-refresh"),
    );
    await outcome(client.refresh({ refreshToken: login.tokens?.refreshToken ?? "" }, from("192.0.2.6", "req-reuse")));
    await client.logout({ refreshToken: reg.tokens?.refreshToken ?? "" }, from("192.0.2.7", "req-logout"));
    await outcome(
      client.login({ emailOrUsername: u.username, password: "wrong-password-3" }, from("192.0.2.8", "req-block")),
    );
    await outcome(
      client.login({ emailOrUsername: u.username, password: u.password }, from("192.0.2.9", "req-blocked")),
    );
    for (const t of [reg.tokens, login.tokens, refreshed.tokens])
      secrets.push(t?.accessToken ?? "", t?.refreshToken ?? "");
  });
  afterAll(() => server?.close());

  const line = (requestId: string, event: string) =>
    auditLines(server, event).filter((l) => l.request_id === requestId);

  it("when security events happen, then each is one audit line with event, outcome, user id, client address and request id", () => {
    const expected: Array<[string, string, string, string, boolean]> = [
      ["req-register", "register", "success", "192.0.2.1", true],
      ["req-login-ok", "login", "success", "192.0.2.2", true],
      ["req-login-bad", "login", "failure", "192.0.2.3", true],
      ["req-login-unknown", "login", "failure", "192.0.2.4", false],
      ["req-refresh", "refresh", "success", "192.0.2.5", true],
      ["req-reuse", "refresh_reuse_detected", "revoked", "192.0.2.6", true],
      ["req-logout", "logout", "success", "192.0.2.7", true],
      ["req-block", "rate_limited", "blocked", "192.0.2.8", false],
      ["req-blocked", "login", "failure", "192.0.2.9", false],
    ];
    for (const [requestId, event, outcome_, address, knowsUser] of expected) {
      const found = line(requestId, event);
      expect(found, `${requestId} ${event}`).toHaveLength(1);
      const entry = found[0] ?? {};
      expect(entry).toMatchObject({
        level: "info",
        message: "audit",
        event,
        outcome: outcome_,
        client_address: address,
      });
      expect(typeof entry.timestamp).toBe("string");
      if (knowsUser) expect(entry.user_id).toBe(userId);
      else expect(entry.user_id).toBeUndefined();
      expect(entry).not.toHaveProperty("userId");
    }
    expect(line("req-login-bad", "login")[0]?.reason).toBe("INVALID_CREDENTIALS");
    expect(line("req-blocked", "login")[0]?.reason).toBe("RATE_LIMITED");
    expect(line("req-block", "rate_limited")[0]?.reason).toBe("login_account");
  });

  it("when anything was logged, then no line holds a password or a token", () => {
    expect(secrets.filter((s) => s.length > 0)).toHaveLength(7);
    for (const raw of server.rawLogs)
      for (const secret of secrets) if (secret) expect(raw.includes(secret)).toBe(false);
  });
});
