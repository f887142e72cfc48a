import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthClient, authClient, connectTransport } from "../helpers/clients.js";
import { outcome } from "../helpers/errors.js";
import { metricValue } from "../helpers/metrics.js";
import { startServer, type TestServer, uniqueUser } from "../helpers/server.js";
import { sleep } from "../helpers/wait.js";

describe("a flood of logins", () => {
  let server: TestServer;
  let client: AuthClient;
  beforeAll(async () => {
    // Real cost (BCRYPT_ROUNDS 10), one hash at a time, a short queue deadline.
    // The login limiter is off: twenty parallel logins of one account would
    // (rightly) be throttled by it, and this test is about hashing alone.
    server = await startServer({
      env: {
        BCRYPT_ROUNDS: "10",
        BCRYPT_CONCURRENCY: "1",
        BCRYPT_QUEUE_TIMEOUT_MS: "1000",
        RATE_LIMIT_ENABLED: "false",
      },
    });
    client = authClient(connectTransport(server.baseUrl));
  });
  afterAll(() => server?.close());

  it("when 40 logins arrive at once, then one hash runs at a time, late ones get UNAVAILABLE, and GET /.well-known/jwks.json stays fast", async () => {
    const u = uniqueUser();
    await client.register(u);
    // The hashes running, as GET /metrics reports them, sampled until the flood
    // is over; spaced out so that the sampling does not slow the server itself.
    const hashMetric = async (name: string) =>
      metricValue(await (await fetch(`${server.baseUrl}/metrics`)).text(), name) ?? Number.NaN;
    let peak = 0;
    let flooding = true;
    const sampler = (async () => {
      while (flooding) {
        peak = Math.max(peak, await hashMetric("warden_password_hashes_active"));
        await sleep(20);
      }
    })();
    const flood = Array.from({ length: 40 }, (_, i) =>
      outcome(
        client.login({
          emailOrUsername: i % 2 ? u.username : uniqueUser().username,
          password: i % 2 ? u.password : "wrong-password!",
        }),
      ),
    );
    await sleep(50);
    const timings: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const res = await fetch(`${server.baseUrl}/.well-known/jwks.json`);
      expect(res.status).toBe(200);
      await res.json();
      timings.push(performance.now() - started);
    }
    const results = await Promise.all(flood);
    flooding = false;
    await sampler;

    const count = (reason: string) => results.filter((r) => r.reason === reason).length;
    console.info(
      `login flood: ${count("ok")} ok, ${count("INVALID_CREDENTIALS")} invalid, ${count("SERVICE_UNAVAILABLE")} unavailable; jwks max ${Math.max(...timings).toFixed(1)} ms`,
    );
    expect(peak).toBe(1);
    const reasons = new Set(results.map((r) => r.reason));
    expect([...reasons].every((r) => ["ok", "INVALID_CREDENTIALS", "SERVICE_UNAVAILABLE"].includes(r))).toBe(true);
    expect(reasons.has("SERVICE_UNAVAILABLE")).toBe(true);
    expect(results.some((r) => r.reason === "ok")).toBe(true);
    // Generous bound: the point is that cheap calls are not queued behind the hashes.
    expect(Math.max(...timings)).toBeLessThan(1_000);
    expect(await hashMetric("warden_password_hashes_queued")).toBe(0);
  });
});
