/**
 * Real outages: the service reaches PostgreSQL through a TCP proxy the test
 * breaks and mends, and SQLite is locked by another connection. Every call
 * must end within a bound with SERVICE_UNAVAILABLE, health must follow, and
 * everything must come back on its own.
 */

import { spawn } from "node:child_process";
import { once } from "node:events";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { type AuthClient, authClient, connectTransport } from "../helpers/clients.js";
import { createTestDatabase, postgresAvailable, type TestDatabase } from "../helpers/databases.js";
import { healthClient, Status, watchHealth } from "../helpers/health.js";
import { metricValue } from "../helpers/metrics.js";
import { startServer, type TestServer, uniqueUser } from "../helpers/server.js";
import { type ProxyMode, startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { type Timed, timed, waitFor } from "../helpers/wait.js";

const DB_TIMEOUT_MS = 500;
/** "Nothing hangs": the timeout plus generous slack for a loaded 2-core machine. */
const CALL_BOUND_MS = DB_TIMEOUT_MS + 3000;
const RESILIENCE_ENV = {
  DB_TIMEOUT_MS: String(DB_TIMEOUT_MS),
  BREAKER_THRESHOLD: "3",
  BREAKER_HALF_OPEN_AFTER_MS: "1000",
  DB_POOL_SIZE: "4",
  LOG_LEVEL: "info",
};

type User = ReturnType<typeof uniqueUser>;

/** A stream of calls, one started every `gapMs`: registrations and logins alternately. */
async function callStream(client: AuthClient, known: User, count: number, gapMs: number) {
  const calls: Array<Promise<Timed<unknown> & { user?: User }>> = [];
  for (let i = 0; i < count; i++) {
    if (i % 2 === 0) {
      const u = uniqueUser("cut");
      calls.push(timed(() => client.register(u)).then((r) => ({ ...r, user: u })));
    } else {
      calls.push(timed(() => client.login({ emailOrUsername: known.email, password: known.password })));
    }
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return Promise.all(calls);
}

function expectUnavailable(results: Array<Timed<unknown>>, boundMs = CALL_BOUND_MS) {
  const failed = results.filter((r) => r.error !== undefined);
  expect(failed.length).toBeGreaterThan(0);
  for (const r of failed) {
    expect(r.error).toBeInstanceOf(ConnectError);
    const e = r.error as ConnectError;
    expect(Code[e.code]).toBe("Unavailable");
    expect(e.findDetails(ErrorInfoSchema)[0]?.reason).toBe("SERVICE_UNAVAILABLE");
  }
  for (const r of results) expect(r.ms).toBeLessThan(boundMs);
}

/**
 * Holds SQLite's write lock from another process, as a backup tool or a stray
 * migration would. (POSIX file locks are per process: a second connection in
 * this process would not block the server's.)
 */
async function lockSqliteFile(path: string): Promise<{ release(): Promise<void> }> {
  const script = `
    const db = new (require("node:sqlite").DatabaseSync)(process.argv[1]);
    db.exec("begin exclusive");
    process.stdout.write("locked\\n");
    process.stdin.on("end", () => { db.exec("rollback"); db.close(); process.exit(0); }).resume();`;
  const child = spawn(process.execPath, ["--no-warnings", "-e", script, path], { stdio: ["pipe", "pipe", "inherit"] });
  await once(child.stdout, "data");
  return {
    async release() {
      child.stdin.end();
      if (child.exitCode === null) await once(child, "exit");
    },
  };
}

const healthStatus = async (server: TestServer) => (await healthClient(server.baseUrl).check({ service: "" })).status;

const circuitState = async (server: TestServer) =>
  metricValue(await (await fetch(`${server.baseUrl}/metrics`)).text(), "warden_db_circuit_state");

/** Retries a call while it fails with UNAVAILABLE; any other failure ends it at once. */
async function eventually<T>(call: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (e) {
      if (!(e instanceof ConnectError) || e.code !== Code.Unavailable || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function expectRecovered(server: TestServer, client: AuthClient, acknowledged: User[]) {
  await waitFor("health SERVING again", async () => (await healthStatus(server)) === Status.SERVING, 15_000);
  expect((await fetch(`${server.baseUrl}/health`)).status).toBe(200);
  // Every acknowledged registration is still there. The first use of a
  // connection that was stalled by the outage may still time out once (it
  // is then evicted), hence "eventually"; a lost user would fail at once.
  for (const u of acknowledged) {
    const res = await eventually(() => client.login({ emailOrUsername: u.username, password: u.password }));
    expect(res.user?.username).toBe(u.username);
  }
  // Twice as many calls at once as the pool holds: no slot was lost for good
  // (a failed transaction start used to keep its connection forever, until
  // the pool ran dry; see src/db/pg-hung-connections.ts). Spread over the
  // users: the login limiter rightly throttles many parallel attempts on one
  // account.
  const burst = await Promise.all(
    Array.from({ length: 8 }, (_, i) => acknowledged[i % acknowledged.length] as User).map((u) =>
      eventually(() => client.login({ emailOrUsername: u.email, password: u.password })),
    ),
  );
  expect(burst.every((r) => r.user?.id !== undefined)).toBe(true);
  await waitFor("circuit closed", async () => (await circuitState(server)) === 0);
}

const pgOk = await postgresAvailable();

describe.skipIf(!pgOk)("PostgreSQL behind a proxy that fails", () => {
  let realDb: TestDatabase;
  let proxy: TcpProxy;
  let server: TestServer;
  let client: AuthClient;
  const acknowledged: User[] = [];

  beforeAll(async () => {
    realDb = await createTestDatabase("postgresql");
    const url = new URL(realDb.url);
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(proxy.port);
    server = await startServer({
      db: { kind: "postgresql", url: url.toString(), drop: () => realDb.drop() },
      env: RESILIENCE_ENV,
    });
    client = authClient(connectTransport(server.baseUrl));
  });
  afterAll(async () => {
    await server?.close();
    await proxy?.close();
  });

  it.each<ProxyMode>(["refuse", "blackhole"])(
    "when the database link goes %s under a stream of calls, then every call ends in time with SERVICE_UNAVAILABLE, health turns NOT_SERVING, and all recovers without restart",
    async (mode) => {
      // Arrange: users whose registration was acknowledged before the cut, and a health watcher.
      for (let i = 0; i < 5; i++) {
        const u = uniqueUser(`pre-${mode}`);
        await client.register(u);
        acknowledged.push(u);
      }
      const known = acknowledged[0] as User;
      expect(await healthStatus(server)).toBe(Status.SERVING);
      const watch = watchHealth(server.baseUrl);
      await waitFor("watch's first status", () => watch.statuses.length > 0);

      // Act: cut the link while calls keep coming.
      proxy.setMode(mode);
      const during = await callStream(client, known, 16, 100);

      // Assert: bounded, correct failures; open circuit; health follows.
      expectUnavailable(during);
      expect(await circuitState(server)).toBe(1);
      expect(await healthStatus(server)).toBe(Status.NOT_SERVING);
      expect((await fetch(`${server.baseUrl}/health`)).status).toBe(503);
      await waitFor("watch reports NOT_SERVING", () => watch.statuses.includes(Status.NOT_SERVING));
      const openFast = await timed(() => client.login({ emailOrUsername: known.email, password: known.password }));
      expect(openFast.ms).toBeLessThan(CALL_BOUND_MS);
      expect((openFast.error as ConnectError | undefined)?.code).toBe(Code.Unavailable);

      // Act: mend the link.
      proxy.setMode("pass");
      // Registrations that succeeded during the cut were acknowledged too.
      acknowledged.push(...during.filter((r) => r.error === undefined && r.user).map((r) => r.user as User));

      // Assert: back to SERVING on its own; nothing acknowledged was lost.
      await expectRecovered(server, client, acknowledged);
      await waitFor("watch reports SERVING again", () => watch.statuses.at(-1) === Status.SERVING);
      expect(watch.statuses[0]).toBe(Status.SERVING);
      watch.stop();
    },
    60_000,
  );
});

describe("SQLite locked by another process", () => {
  let server: TestServer;
  let client: AuthClient;
  let dbPath: string;

  beforeAll(async () => {
    server = await startServer({ db: "sqlite", env: RESILIENCE_ENV });
    client = authClient(connectTransport(server.baseUrl));
    dbPath = server.db.url.slice("sqlite:".length);
  });
  afterAll(() => server?.close());

  it("when another connection holds the write lock under a stream of calls, then calls end in time with SERVICE_UNAVAILABLE, health turns NOT_SERVING, and all recovers once it lets go", async () => {
    // Arrange
    const acknowledged: User[] = [];
    for (let i = 0; i < 3; i++) {
      const u = uniqueUser("pre-lock");
      await client.register(u);
      acknowledged.push(u);
    }
    const known = acknowledged[0] as User;
    const watch = watchHealth(server.baseUrl);
    await waitFor("watch's first status", () => watch.statuses.length > 0);

    // Act: another process takes the write lock.
    const lock = await lockSqliteFile(dbPath);
    try {
      const during = await callStream(client, known, 10, 100);

      // Assert
      // better-sqlite3 waits for a lock synchronously (busy_timeout = DB_TIMEOUT_MS),
      // stalling the whole process, so calls queue behind up to BREAKER_THRESHOLD
      // such waits before the breaker opens: a wider, still finite bound.
      expectUnavailable(during, DB_TIMEOUT_MS * 4 + 3000);
      expect(during.filter((r) => r.error !== undefined).length).toBeGreaterThanOrEqual(5);
      await waitFor("health NOT_SERVING", async () => (await healthStatus(server)) === Status.NOT_SERVING);
      await waitFor("watch reports NOT_SERVING", () => watch.statuses.includes(Status.NOT_SERVING));
      expect((await fetch(`${server.baseUrl}/health`)).status).toBe(503);
    } finally {
      // Act: let go.
      await lock.release();
    }

    // Assert
    await expectRecovered(server, client, acknowledged);
    await waitFor("watch reports SERVING again", () => watch.statuses.at(-1) === Status.SERVING);
    watch.stop();
  }, 60_000);
});
