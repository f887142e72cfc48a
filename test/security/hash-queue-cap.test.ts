import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isDomainError } from "../../src/domain/errors.js";
import { createHashLimiter } from "../../src/passwords/hash-limiter.js";
import { type AuthClient, authClient, connectTransport } from "../helpers/clients.js";
import { outcome } from "../helpers/errors.js";
import { metricValue } from "../helpers/metrics.js";
import { startServer, type TestServer, uniqueUser } from "../helpers/server.js";
import { sleep } from "../helpers/wait.js";

/**
 * Item 7 of issue 10: the password-hash queue has a length cap
 * (BCRYPT_QUEUE_MAX). Past it a call is refused at once with
 * RESOURCE_EXHAUSTED / RATE_LIMITED, instead of waiting out
 * BCRYPT_QUEUE_TIMEOUT_MS in a queue that only grows.
 */

describe("the hash queue cap", () => {
  it("when the queue is full, then the next task is refused at once with RATE_LIMITED and never runs", async () => {
    const limiter = createHashLimiter(1, 10_000, 2);
    const ran: number[] = [];
    const task = (n: number) => () => sleep(100).then(() => ran.push(n));
    const accepted = [limiter.run(task(1)), limiter.run(task(2)), limiter.run(task(3))];
    expect(limiter.queued).toBe(2);
    const started = performance.now();
    const refused = await limiter.run(task(4)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(performance.now() - started).toBeLessThan(50);
    expect(isDomainError(refused) && refused.reason).toBe("RATE_LIMITED");
    expect(isDomainError(refused) && refused.retryAfterMs).toBeGreaterThan(0);
    await Promise.all(accepted);
    expect(ran).toEqual([1, 2, 3]);
  });
});

describe("a login flood against a short hash queue", () => {
  let server: TestServer;
  let client: AuthClient;
  beforeAll(async () => {
    server = await startServer({
      env: {
        BCRYPT_ROUNDS: "10",
        BCRYPT_CONCURRENCY: "1",
        BCRYPT_QUEUE_MAX: "2",
        // Long enough that, without the cap, every login would wait its turn and succeed.
        BCRYPT_QUEUE_TIMEOUT_MS: "60000",
        RATE_LIMIT_ENABLED: "false",
      },
    });
    client = authClient(connectTransport(server.baseUrl));
  });
  afterAll(() => server?.close());

  it("when 30 logins arrive at once, then those past the queue are refused at once with RATE_LIMITED and RetryInfo", async () => {
    const u = uniqueUser();
    await client.register(u);
    const results = await Promise.all(
      Array.from({ length: 30 }, async () => {
        const started = performance.now();
        const o = await outcome(client.login({ emailOrUsername: u.email, password: u.password }));
        return { ...o, ms: performance.now() - started };
      }),
    );
    const refused = results.filter((r) => r.reason === "RATE_LIMITED");
    const ok = results.filter((r) => r.reason === "ok");
    console.info(`hash queue cap: ${ok.length} ok, ${refused.length} refused`);
    expect(ok.length + refused.length).toBe(30);
    expect(ok.length).toBeGreaterThanOrEqual(3);
    expect(refused.length).toBeGreaterThan(10);
    for (const r of refused) expect(r.retryMs).toBeGreaterThan(0);
    // Refused without waiting for a hash slot: far quicker than the slowest success.
    const slowestOk = Math.max(...ok.map((r) => r.ms));
    expect(Math.min(...refused.map((r) => r.ms))).toBeLessThan(slowestOk);
    expect(metricValue(await (await fetch(`${server.baseUrl}/metrics`)).text(), "warden_password_hashes_queued")).toBe(
      0,
    );
  });
});
