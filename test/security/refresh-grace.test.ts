import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthClient, authClient, connectTransport } from "../helpers/clients.js";
import { describeEachDatabase } from "../helpers/databases.js";
import { outcome } from "../helpers/errors.js";
import { auditLines, startServer, type TestServer, testClock, uniqueUser } from "../helpers/server.js";

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

await describeEachDatabase(describe, "refresh grace window and absolute session lifetime", (kind) => {
  const clock = testClock();
  let server: TestServer;
  let client: AuthClient;
  beforeAll(async () => {
    server = await startServer({
      db: kind,
      clock,
      env: { REFRESH_REUSE_INTERVAL: "10", REFRESH_TOKEN_TTL: "60", SESSION_MAX_LIFETIME: "120" },
    });
    client = authClient(connectTransport(server.baseUrl));
  });
  afterAll(() => server?.close());

  const session = async () => (await client.register(uniqueUser())).tokens?.refreshToken ?? "";

  it("when the just-rotated token comes back inside REFRESH_REUSE_INTERVAL, then the same new pair is returned and the family lives on", async () => {
    const t1 = await session();
    const first = await client.refresh({ refreshToken: t1 });
    clock.advance(9_000);
    const again = await client.refresh({ refreshToken: t1 });
    expect(again.tokens?.refreshToken).toBe(first.tokens?.refreshToken);
    expect(again.tokens?.accessToken).toBe(first.tokens?.accessToken);
    const next = await client.refresh({ refreshToken: first.tokens?.refreshToken ?? "" });
    expect(next.tokens?.refreshToken).not.toBe(first.tokens?.refreshToken);
    expect((await client.getCurrentUser({}, bearer(next.tokens?.accessToken ?? ""))).user?.id).toBe(next.user?.id);
  });

  it("when the rotated token comes back after the window, then the whole family is revoked", async () => {
    const t1 = await session();
    const t2 = await client.refresh({ refreshToken: t1 });
    clock.advance(11_000);
    expect((await outcome(client.refresh({ refreshToken: t1 }))).reason).toBe("TOKEN_REVOKED");
    expect((await outcome(client.refresh({ refreshToken: t2.tokens?.refreshToken ?? "" }))).reason).toBe(
      "TOKEN_REVOKED",
    );
    expect(await outcome(client.getCurrentUser({}, bearer(t2.tokens?.accessToken ?? "")))).toMatchObject({
      reason: "TOKEN_REVOKED",
    });
    const reuse = auditLines(server, "refresh_reuse_detected").filter((l) => l.user_id === t2.user?.id);
    expect(reuse).toHaveLength(1);
    expect(reuse[0]?.outcome).toBe("revoked");
  });

  it("when 20 concurrent Refresh calls carry one token inside the window, then all of them get the same pair", async () => {
    const t1 = await session();
    const results = await Promise.all(Array.from({ length: 20 }, () => client.refresh({ refreshToken: t1 })));
    const pairs = new Set(results.map((r) => `${r.tokens?.refreshToken}|${r.tokens?.accessToken}`));
    expect(pairs.size).toBe(1);
    const [winner] = results;
    expect((await outcome(client.refresh({ refreshToken: winner?.tokens?.refreshToken ?? "" }))).reason).toBe("ok");
  });

  it("when 20 concurrent calls present a token rotated longer ago than the window, then none succeeds and the family is revoked", async () => {
    const t1 = await session();
    const t2 = await client.refresh({ refreshToken: t1 });
    clock.advance(10_001);
    const results = await Promise.all(Array.from({ length: 20 }, () => outcome(client.refresh({ refreshToken: t1 }))));
    expect(results.map((r) => r.reason)).toEqual(Array(20).fill("TOKEN_REVOKED"));
    expect((await outcome(client.refresh({ refreshToken: t2.tokens?.refreshToken ?? "" }))).reason).toBe(
      "TOKEN_REVOKED",
    );
  });

  it("when a session is refreshed again and again, then SESSION_MAX_LIFETIME still ends it at the same instant", async () => {
    const reg = await client.register(uniqueUser());
    let token = reg.tokens?.refreshToken ?? "";
    const lifetimes: number[] = [];
    let access = "";
    for (const step of [50_000, 50_000, 19_000]) {
      clock.advance(step);
      const r = await client.refresh({ refreshToken: token });
      token = r.tokens?.refreshToken ?? "";
      access = r.tokens?.accessToken ?? "";
      lifetimes.push(r.tokens?.refreshExpiresIn ?? -1);
    }
    // REFRESH_TOKEN_TTL is 60 s, but never past 120 s after the login.
    expect(lifetimes[0]).toBe(60);
    expect(lifetimes[1]).toBeLessThanOrEqual(20);
    expect(lifetimes[2]).toBeLessThanOrEqual(1);
    clock.advance(2_000);
    expect((await outcome(client.refresh({ refreshToken: token }))).reason).toBe("TOKEN_EXPIRED");
    expect((await outcome(client.getCurrentUser({}, bearer(access)))).reason).toBe("TOKEN_EXPIRED");
  });
});
