import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthClient, addressNo, authClient, connectTransport, loginFrom } from "../helpers/clients.js";
import { createTestDatabase, postgresAvailable, type TestDatabase } from "../helpers/databases.js";
import { type Outcome, outcome } from "../helpers/errors.js";
import { auditLines, startServer, type TestServer, uniqueUser } from "../helpers/server.js";
import { sleep } from "../helpers/wait.js";

const BEHIND_PROXY = { TRUSTED_PROXIES: "127.0.0.1" };

describe("brute force on one account", () => {
  let server: TestServer;
  let client: AuthClient;
  beforeAll(async () => {
    server = await startServer({
      env: {
        ...BEHIND_PROXY,
        LOGIN_ACCOUNT_FREE_FAILURES: "5",
        LOGIN_ACCOUNT_MAX_FAILURES: "5",
        LOGIN_ACCOUNT_BLOCK_SECONDS: "900",
      },
    });
    client = authClient(connectTransport(server.baseUrl));
  });
  afterAll(() => server?.close());

  it("when 200 wrong passwords come from 200 addresses, then the account is blocked and the right password is refused too", async () => {
    const u = uniqueUser();
    await client.register(u);
    const results = [];
    for (let i = 0; i < 200; i++)
      results.push(await loginFrom(client, addressNo(i + 1), u.username, `wrong-password-${i}`));

    expect(results.filter((r) => r.reason === "INVALID_CREDENTIALS")).toHaveLength(5);
    expect(results.slice(5).every((r) => r.reason === "RATE_LIMITED")).toBe(true);
    const last = results.at(-1);
    expect(last?.retryMs).toBeGreaterThan(800_000);
    expect(last?.retryMs).toBeLessThanOrEqual(900_000);

    const right = await loginFrom(client, addressNo(999), u.username, u.password);
    expect(right.reason).toBe("RATE_LIMITED");
    // The identifier is counted normalised, so changing its case does not start a fresh count.
    expect((await loginFrom(client, addressNo(998), u.username.toUpperCase(), u.password)).reason).toBe("RATE_LIMITED");
  });

  it("when an identifier of no account is hammered, then it gets exactly the answers an existing account gets", async () => {
    const u = uniqueUser();
    await client.register(u);
    const ghost = uniqueUser().username;
    const real: Outcome[] = [];
    const fake: Outcome[] = [];
    for (let i = 0; i < 8; i++) {
      real.push(await loginFrom(client, addressNo(5000 + i), u.username, "not-the-password"));
      fake.push(await loginFrom(client, addressNo(6000 + i), ghost, "not-the-password"));
    }
    const shape = (o: Outcome) => ({
      reason: o.reason,
      code: o.code,
      message: o.message,
      retryS: o.retryMs && Math.round(o.retryMs / 10_000),
    });
    expect(fake.map(shape)).toEqual(real.map(shape));
    expect(real.at(-1)?.reason).toBe("RATE_LIMITED");
  });

  it("when an account becomes blocked, then one rate_limited audit line says so, with address and request id", () => {
    const blocks = auditLines(server, "rate_limited").filter((l) => l.reason === "login_account");
    expect(blocks).toHaveLength(3);
    for (const line of blocks) {
      expect(line.outcome).toBe("blocked");
      expect(line.client_address).toMatch(/^10\./);
      expect(line.request_id).toEqual(expect.any(String));
    }
  });
});

describe("slowing down failures before the block", () => {
  let server: TestServer;
  let client: AuthClient;
  beforeAll(async () => {
    server = await startServer({
      env: {
        ...BEHIND_PROXY,
        LOGIN_ACCOUNT_FREE_FAILURES: "2",
        LOGIN_ACCOUNT_MAX_FAILURES: "4",
        LOGIN_ACCOUNT_BLOCK_SECONDS: "60",
      },
    });
    client = authClient(connectTransport(server.baseUrl));
  });
  afterAll(() => server?.close());

  it("when failures pass the free ones, then each next try must wait, and the maximum blocks", async () => {
    const u = uniqueUser();
    await client.register(u);
    const wrong = (n: number) => loginFrom(client, addressNo(n), u.username, "wrong-wrong-wrong");
    expect((await wrong(1)).reason).toBe("INVALID_CREDENTIALS");
    expect((await wrong(2)).reason).toBe("INVALID_CREDENTIALS");
    expect((await wrong(3)).reason).toBe("INVALID_CREDENTIALS"); // third failure: wait 1 s before the next
    const early = await loginFrom(client, addressNo(4), u.username, u.password);
    expect(early.reason).toBe("RATE_LIMITED");
    expect(early.retryMs).toBe(1000);
    await sleep(1100);
    expect((await wrong(5)).reason).toBe("INVALID_CREDENTIALS"); // fourth failure: blocked
    const blocked = await loginFrom(client, addressNo(6), u.username, u.password);
    expect(blocked.reason).toBe("RATE_LIMITED");
    expect(blocked.retryMs).toBeGreaterThan(50_000);
  });

  it("when twenty wrong passwords for one account arrive at once, then only the free ones and one more are checked", async () => {
    const u = uniqueUser();
    await client.register(u);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => loginFrom(client, addressNo(500 + i), u.username, "wrong-wrong-wrong")),
    );
    const checked = answers.filter((a) => a.reason === "INVALID_CREDENTIALS").length;
    const refused = answers.filter((a) => a.reason === "RATE_LIMITED").length;
    // Counting at the start of each attempt: 2 free, then one at a time.
    expect(checked).toBe(3);
    expect(refused).toBe(17);
  });

  it("when a login succeeds, then the failures before it are forgotten", async () => {
    const u = uniqueUser();
    await client.register(u);
    for (let round = 0; round < 3; round++) {
      expect((await loginFrom(client, addressNo(100 + round), u.username, "nope-nope-nope")).reason).toBe(
        "INVALID_CREDENTIALS",
      );
      expect((await loginFrom(client, addressNo(200 + round), u.username, "nope-nope-nope")).reason).toBe(
        "INVALID_CREDENTIALS",
      );
      expect((await loginFrom(client, addressNo(300 + round), u.username, u.password)).reason).toBe("ok");
    }
  });
});

describe("limits per client address", () => {
  let server: TestServer;
  let client: AuthClient;
  beforeAll(async () => {
    server = await startServer({
      env: {
        ...BEHIND_PROXY,
        LOGIN_ADDRESS_LIMIT: "5",
        LOGIN_ADDRESS_WINDOW_SECONDS: "120",
        REGISTER_ADDRESS_LIMIT: "3",
        REGISTER_ADDRESS_WINDOW_SECONDS: "120",
      },
    });
    client = authClient(connectTransport(server.baseUrl));
  });
  afterAll(() => server?.close());

  it("when one address tries many accounts (credential stuffing), then it is stopped and other addresses are not", async () => {
    const results = [];
    for (let i = 0; i < 8; i++)
      results.push(await loginFrom(client, "203.0.113.50", uniqueUser().username, "some-password-1"));
    expect(results.map((r) => r.reason)).toEqual([
      ...Array(5).fill("INVALID_CREDENTIALS"),
      ...Array(3).fill("RATE_LIMITED"),
    ]);
    expect(results.at(-1)?.retryMs).toBeGreaterThan(100_000);
    expect((await loginFrom(client, "203.0.113.51", uniqueUser().username, "some-password-1")).reason).toBe(
      "INVALID_CREDENTIALS",
    );
    expect(
      auditLines(server, "rate_limited").filter(
        (l) => l.reason === "login_address" && l.client_address === "203.0.113.50",
      ),
    ).toHaveLength(1);
  });

  it("when one address registers too often, then RATE_LIMITED with a delay, on RPC and REST (429, Retry-After)", async () => {
    const from = { headers: { "x-forwarded-for": "198.51.100.7" } };
    for (let i = 0; i < 3; i++) expect((await outcome(client.register(uniqueUser(), from))).reason).toBe("ok");
    const refused = await outcome(client.register(uniqueUser(), from));
    expect(refused.reason).toBe("RATE_LIMITED");
    expect(refused.retryMs).toBeGreaterThan(100_000);

    const res = await fetch(`${server.baseUrl}/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json", ...from.headers },
      body: JSON.stringify(uniqueUser()),
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(100);
    expect(((await res.json()) as { error_code: string }).error_code).toBe("RATE_LIMITED");

    expect(
      (await outcome(client.register(uniqueUser(), { headers: { "x-forwarded-for": "198.51.100.8" } }))).reason,
    ).toBe("ok");
  });

  it("when x-forwarded-for comes from a peer that is not a trusted proxy, then it cannot dodge the address limit", async () => {
    const direct = await startServer({ env: { LOGIN_ADDRESS_LIMIT: "3", LOGIN_ADDRESS_WINDOW_SECONDS: "120" } });
    try {
      const c = authClient(connectTransport(direct.baseUrl));
      const results = [];
      for (let i = 0; i < 5; i++)
        results.push((await loginFrom(c, addressNo(i + 1), uniqueUser().username, "x-password-x")).reason);
      expect(results).toEqual([
        "INVALID_CREDENTIALS",
        "INVALID_CREDENTIALS",
        "INVALID_CREDENTIALS",
        "RATE_LIMITED",
        "RATE_LIMITED",
      ]);
      expect(auditLines(direct, "rate_limited")[0]?.client_address).toBe("127.0.0.1");
    } finally {
      await direct.close();
    }
  });

  it("when RATE_LIMIT_ENABLED=false, then nothing is limited", async () => {
    const open = await startServer({
      env: {
        RATE_LIMIT_ENABLED: "false",
        LOGIN_ADDRESS_LIMIT: "1",
        LOGIN_ACCOUNT_FREE_FAILURES: "1",
        LOGIN_ACCOUNT_MAX_FAILURES: "1",
      },
    });
    try {
      const c = authClient(connectTransport(open.baseUrl));
      const u = uniqueUser();
      await c.register(u);
      for (let i = 0; i < 3; i++)
        expect((await outcome(c.login({ emailOrUsername: u.username, password: "wrong-wrong" }))).reason).toBe(
          "INVALID_CREDENTIALS",
        );
      expect((await outcome(c.login({ emailOrUsername: u.username, password: u.password }))).reason).toBe("ok");
    } finally {
      await open.close();
    }
  });
});

const pgOk = await postgresAvailable();

describe.skipIf(!pgOk)("counters shared by two replicas on one PostgreSQL database (RATE_LIMIT_STORE=database)", () => {
  let db: TestDatabase;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    db = await createTestDatabase("postgresql");
    const env = {
      ...BEHIND_PROXY,
      RATE_LIMIT_STORE: "database",
      LOGIN_ACCOUNT_FREE_FAILURES: "3",
      LOGIN_ACCOUNT_MAX_FAILURES: "3",
      LOGIN_ADDRESS_LIMIT: "4",
    };
    a = await startServer({ db, env, keepDb: true });
    b = await startServer({ db, env, keepDb: true });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it("when failures are spread over both replicas, then the account block holds on both", async () => {
    const ca = authClient(connectTransport(a.baseUrl));
    const cb = authClient(connectTransport(b.baseUrl));
    const u = uniqueUser();
    await ca.register(u);
    expect((await loginFrom(ca, addressNo(1), u.username, "bad-password-1")).reason).toBe("INVALID_CREDENTIALS");
    expect((await loginFrom(cb, addressNo(2), u.username, "bad-password-2")).reason).toBe("INVALID_CREDENTIALS");
    expect((await loginFrom(ca, addressNo(3), u.username, "bad-password-3")).reason).toBe("INVALID_CREDENTIALS");
    expect((await loginFrom(cb, addressNo(4), u.username, u.password)).reason).toBe("RATE_LIMITED");
    expect((await loginFrom(ca, addressNo(5), u.username, u.password)).reason).toBe("RATE_LIMITED");
  });

  it("when one address alternates between replicas, then its login allowance is spent once, not once per replica", async () => {
    const clients = [authClient(connectTransport(a.baseUrl)), authClient(connectTransport(b.baseUrl))];
    const results = [];
    for (let i = 0; i < 6; i++)
      results.push(
        (await loginFrom(clients[i % 2] as AuthClient, "192.0.2.77", uniqueUser().username, "pw-pw-pw-pw")).reason,
      );
    expect(results).toEqual([
      "INVALID_CREDENTIALS",
      "INVALID_CREDENTIALS",
      "INVALID_CREDENTIALS",
      "INVALID_CREDENTIALS",
      "RATE_LIMITED",
      "RATE_LIMITED",
    ]);
  });
});

describe("counters shared through Redis (RATE_LIMIT_STORE=redis)", () => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    // Each replica has its own database here: only Redis connects them.
    const env = {
      ...BEHIND_PROXY,
      RATE_LIMIT_STORE: "redis",
      REDIS_URL: "redis://127.0.0.1:6379",
      LOGIN_ACCOUNT_FREE_FAILURES: "2",
      LOGIN_ACCOUNT_MAX_FAILURES: "2",
    };
    a = await startServer({ env });
    b = await startServer({ env });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it("when one replica blocks an account, then the other refuses it too", async () => {
    const ca = authClient(connectTransport(a.baseUrl));
    const cb = authClient(connectTransport(b.baseUrl));
    const ghost = uniqueUser().username; // no such user on either database: the block does not care
    expect((await loginFrom(ca, addressNo(11), ghost, "bad-password-1")).reason).toBe("INVALID_CREDENTIALS");
    expect((await loginFrom(ca, addressNo(12), ghost, "bad-password-2")).reason).toBe("INVALID_CREDENTIALS");
    expect((await loginFrom(cb, addressNo(13), ghost, "bad-password-3")).reason).toBe("RATE_LIMITED");
  });
});

describe("a shared store that does not answer", () => {
  it("when Redis is unreachable, then the service still starts and limits each replica from memory", async () => {
    const server = await startServer({
      env: {
        ...BEHIND_PROXY,
        RATE_LIMIT_STORE: "redis",
        REDIS_URL: "redis://127.0.0.1:1",
        LOGIN_ACCOUNT_FREE_FAILURES: "2",
        LOGIN_ACCOUNT_MAX_FAILURES: "2",
      },
    });
    try {
      const client = authClient(connectTransport(server.baseUrl));
      const ghost = uniqueUser().username;
      const results = [];
      for (let i = 0; i < 3; i++)
        results.push((await loginFrom(client, addressNo(40 + i), ghost, "bad-password")).reason);
      expect(results).toEqual(["INVALID_CREDENTIALS", "INVALID_CREDENTIALS", "RATE_LIMITED"]);
      expect(
        server.logs.some(
          (l) => l.message === "rate-limit store unreachable at start; counting per replica until it answers",
        ),
      ).toBe(true);
    } finally {
      await server.close();
    }
  });
});
