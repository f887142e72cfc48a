import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDomainError } from "../../src/domain/errors.js";
import { createHashLimiter } from "../../src/passwords/hash-limiter.js";
import { type AuthClient, authClient, connectTransport } from "../helpers/clients.js";
import { startServer, type TestServer, uniqueUser } from "../helpers/server.js";
import { metricValue } from "../ops/support.js";
import { outcome, sleep } from "./support.js";

describe("hash limiter", () => {
  it("when more tasks arrive than BCRYPT_CONCURRENCY, then at most that many run and the rest wait their turn in order", async () => {
    const limiter = createHashLimiter(2, 5_000);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const task = (n: number) => async () => {
      running++;
      peak = Math.max(peak, running);
      await sleep(20);
      running--;
      order.push(n);
      return n;
    };
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => limiter.run(task(n))));
    expect(results).toEqual([1, 2, 3, 4, 5, 6]);
    expect(peak).toBe(2);
    expect(order.slice(2)).toEqual([3, 4, 5, 6]);
    expect(limiter.active).toBe(0);
    expect(limiter.queued).toBe(0);
  });

  it("when a task waits longer than BCRYPT_QUEUE_TIMEOUT_MS, then it fails with SERVICE_UNAVAILABLE and never runs", async () => {
    const limiter = createHashLimiter(1, 100);
    let ran = false;
    const slow = limiter.run(() => sleep(400));
    const late = limiter.run(async () => {
      ran = true;
    });
    const error = await late.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isDomainError(error) && error.reason).toBe("SERVICE_UNAVAILABLE");
    await slow;
    expect(ran).toBe(false);
    expect(limiter.queued).toBe(0);
  });
});

describe("a flood of logins", () => {
  let server: TestServer;
  let client: AuthClient;
  beforeAll(async () => {
    // Real cost (~50–100 ms a hash here), one hash at a time, a short queue deadline.
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
