import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthClient, addressNo, authClient, connectTransport, loginFrom } from "../helpers/clients.js";
import { createTestDatabase, postgresAvailable, type TestDatabase } from "../helpers/databases.js";
import { outcome } from "../helpers/errors.js";
import { auditLines, startServer, type TestServer, uniqueUser } from "../helpers/server.js";

/**
 * Items 4 and 6 of issue 10: an IPv6 client is counted per /64 (with every
 * spelling of an address made one first), and registrations have a global
 * allowance besides the per-address one, shared by replicas like the other
 * counters.
 */

const BEHIND_PROXY = { TRUSTED_PROXIES: "127.0.0.1" };

const registerFrom = (client: AuthClient, address: string) =>
  outcome(client.register(uniqueUser(), { headers: { "x-forwarded-for": address } }));

describe("IPv6 clients are counted per /64", () => {
  let server: TestServer;
  let client: AuthClient;
  beforeAll(async () => {
    server = await startServer({
      env: { ...BEHIND_PROXY, REGISTER_ADDRESS_LIMIT: "10", LOGIN_ADDRESS_LIMIT: "5" },
    });
    client = authClient(connectTransport(server.baseUrl));
  });
  afterAll(() => server?.close());

  it("when 12 addresses of one /64 register, then they share one budget; another /64 is another client", async () => {
    // Twelve different addresses of 2001:db8:ab:cd::/64, in every spelling a proxy might write.
    const sameNetwork = [
      "2001:db8:ab:cd::1",
      "2001:db8:ab:cd::2",
      "2001:DB8:AB:CD::3",
      "2001:0db8:00ab:00cd:0000:0000:0000:0004",
      "2001:db8:ab:cd:0:0:0:5",
      "2001:db8:ab:cd:ffff:ffff:ffff:ffff",
      "2001:db8:ab:cd:1234:5678:9abc:def0",
      "2001:db8:ab:cd::7",
      "2001:db8:ab:cd::8",
      "2001:db8:ab:cd::9",
      "2001:db8:ab:cd::a",
      "2001:db8:ab:cd::b",
    ];
    const results = [];
    for (const address of sameNetwork) results.push((await registerFrom(client, address)).reason);
    expect(results).toEqual([...Array<string>(10).fill("ok"), "RATE_LIMITED", "RATE_LIMITED"]);
    // The neighbouring /64 and an IPv4 client are untouched.
    expect((await registerFrom(client, "2001:db8:ab:ce::1")).reason).toBe("ok");
    expect((await registerFrom(client, "2001:db8:ab:cc:ffff::1")).reason).toBe("ok");
    expect((await registerFrom(client, addressNo(1))).reason).toBe("ok");
  });

  it("when an IPv4 client also comes as IPv4-mapped IPv6, then both spellings are one client", async () => {
    const spellings = ["198.51.100.9", "::ffff:198.51.100.9", "::FFFF:c633:6409"];
    const results = [];
    for (let i = 0; i < 11; i++) results.push((await registerFrom(client, spellings[i % 3] as string)).reason);
    expect(results).toEqual([...Array<string>(10).fill("ok"), "RATE_LIMITED"]);
  });

  it("when logins come from many addresses of one /64, then the login allowance is spent once", async () => {
    const results = [];
    for (let i = 1; i <= 6; i++)
      results.push(
        (await loginFrom(client, `2001:db8:77:1::${i.toString(16)}`, uniqueUser().username, "nope-nope-nope")).reason,
      );
    expect(results).toEqual([...Array<string>(5).fill("INVALID_CREDENTIALS"), "RATE_LIMITED"]);
    expect((await loginFrom(client, "2001:db8:77:2::1", uniqueUser().username, "nope-nope-nope")).reason).toBe(
      "INVALID_CREDENTIALS",
    );
  });
});

describe("a global registration limit (REGISTER_GLOBAL_LIMIT)", () => {
  let server: TestServer;
  let client: AuthClient;
  beforeAll(async () => {
    server = await startServer({
      env: { ...BEHIND_PROXY, REGISTER_GLOBAL_LIMIT: "5", REGISTER_GLOBAL_WINDOW_SECONDS: "60" },
    });
    client = authClient(connectTransport(server.baseUrl));
  });
  afterAll(() => server?.close());

  it("when registrations from many addresses pass the global allowance, then RATE_LIMITED with a delay, on RPC and REST", async () => {
    const results = [];
    for (let i = 0; i < 5; i++) results.push((await registerFrom(client, addressNo(100 + i))).reason);
    expect(results).toEqual(Array<string>(5).fill("ok"));

    const refused = await registerFrom(client, addressNo(200));
    expect(refused.reason).toBe("RATE_LIMITED");
    expect(refused.retryMs).toBeGreaterThan(0);
    expect(refused.retryMs).toBeLessThanOrEqual(60_000);

    const res = await fetch(`${server.baseUrl}/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": addressNo(201) },
      body: JSON.stringify(uniqueUser()),
    });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(((await res.json()) as { error_code: string }).error_code).toBe("RATE_LIMITED");

    // The start of the block is one audit line; logins are not affected.
    expect(auditLines(server, "rate_limited").filter((l) => l.reason === "register_global")).toHaveLength(1);
    expect((await loginFrom(client, addressNo(202), uniqueUser().username, "nope-nope-nope")).reason).toBe(
      "INVALID_CREDENTIALS",
    );
  });
});

const pgOk = await postgresAvailable();

describe.skipIf(!pgOk)("the global registration limit across two replicas (RATE_LIMIT_STORE=database)", () => {
  let db: TestDatabase;
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    db = await createTestDatabase("postgresql");
    const env = { ...BEHIND_PROXY, RATE_LIMIT_STORE: "database", REGISTER_GLOBAL_LIMIT: "6" };
    a = await startServer({ db, env, keepDb: true });
    b = await startServer({ db, env, keepDb: true });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it("when registrations alternate between replicas, then the global allowance is spent once, not once per replica", async () => {
    const clients = [authClient(connectTransport(a.baseUrl)), authClient(connectTransport(b.baseUrl))];
    const results = [];
    for (let i = 0; i < 8; i++)
      results.push((await registerFrom(clients[i % 2] as AuthClient, addressNo(300 + i))).reason);
    expect(results).toEqual([...Array<string>(6).fill("ok"), "RATE_LIMITED", "RATE_LIMITED"]);
  });
});
