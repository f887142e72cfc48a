/**
 * The database spans during a real outage: PostgreSQL behind a TCP proxy
 * that the test black-holes. A repository call that hits the timeout, and
 * one the open circuit breaker refuses, each show as a failed child span of
 * the call, named after the repository method.
 */

import { randomBytes } from "node:crypto";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthClient, authClient, connectTransport } from "../helpers/clients.js";
import { createTestDatabase, postgresAvailable, type TestDatabase } from "../helpers/databases.js";
import { startServer, type TestServer, uniqueUser } from "../helpers/server.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { waitFor } from "../helpers/wait.js";

const SERVER = 1;
const CLIENT = 2;
const ERROR = 2;

const pgOk = await postgresAvailable();

/** A server on PostgreSQL behind a proxy the test controls, tracing every call into memory. */
async function outageServer(env: Record<string, string>) {
  const exporter = new InMemorySpanExporter();
  const user = uniqueUser("outage");
  const realDb: TestDatabase = await createTestDatabase("postgresql");
  const url = new URL(realDb.url);
  const proxy: TcpProxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
  url.port = String(proxy.port);
  const server: TestServer = await startServer({
    db: { kind: "postgresql", url: url.toString(), drop: () => realDb.drop() },
    env: { DB_TIMEOUT_MS: "400", LOG_LEVEL: "info", ...env },
    spanProcessor: new SimpleSpanProcessor({ exporter }),
  });
  const client: AuthClient = authClient(connectTransport(server.baseUrl));
  await client.register(user);

  /** One traced login; resolves with its server span and that span's database children. */
  async function tracedLogin(): Promise<{ call: ReadableSpan; db: ReadableSpan[] }> {
    const traceId = randomBytes(16).toString("hex");
    const traceparent = `00-${traceId}-${randomBytes(8).toString("hex")}-01`;
    await client
      .login({ emailOrUsername: user.email, password: user.password }, { headers: { traceparent } })
      .catch(() => undefined);
    const ofTrace = () => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    await waitFor("the server span", () => ofTrace().some((s) => s.kind === SERVER));
    const call = ofTrace().find((s) => s.kind === SERVER) as ReadableSpan;
    const db = ofTrace().filter((s) => s.parentSpanContext?.spanId === call.spanContext().spanId && s.kind === CLIENT);
    return { call, db };
  }

  return {
    proxy,
    tracedLogin,
    async close() {
      await server.close();
      await proxy.close();
    },
  };
}

describe.skipIf(!pgOk)("database spans while PostgreSQL does not answer", () => {
  let outage: Awaited<ReturnType<typeof outageServer>>;

  beforeAll(async () => {
    // The circuit stays open for the rest of the test once it opened.
    outage = await outageServer({ BREAKER_THRESHOLD: "2", BREAKER_HALF_OPEN_AFTER_MS: "600000" });
  });
  afterAll(async () => {
    await outage?.close();
  });

  it("when the link is black-holed, then a repository call shows as a span that failed with timeout, and once the circuit opens as one refused with circuit_open; the call's span is UNAVAILABLE", async () => {
    const { proxy, tracedLogin } = outage;
    const healthy = await tracedLogin();
    expect(healthy.db.length).toBeGreaterThan(0);
    for (const s of healthy.db) {
      expect(s.name).toMatch(/^db\.(users|sessions)\./);
      expect(s.attributes["db.system.name"]).toBe("postgresql");
      expect(s.status.code).not.toBe(ERROR);
    }

    proxy.setMode("blackhole");
    const seen = new Set<string>();
    const started = Date.now();
    while (!seen.has("circuit_open") && Date.now() - started < 30_000) {
      const { call, db } = await tracedLogin();
      const failed = db.filter((s) => s.status.code === ERROR);
      expect(failed).toHaveLength(1);
      const type = String(failed[0]?.attributes["error.type"]);
      expect(failed[0]?.status.message).toBe(type);
      seen.add(type);
      expect(call.attributes["rpc.grpc.status_code"]).toBe(14);
      expect(call.status).toEqual({ code: ERROR, message: "SERVICE_UNAVAILABLE" });
    }
    // The first failures wait for the timeout; the breaker then refuses at once.
    expect([...seen].sort()).toEqual(["circuit_open", "timeout"]);
  }, 60_000);
});

describe.skipIf(!pgOk)("a call that needs a new connection while PostgreSQL does not answer", () => {
  let outage: Awaited<ReturnType<typeof outageServer>>;

  beforeAll(async () => {
    // A breaker that never opens here: every call goes to the database.
    outage = await outageServer({ BREAKER_THRESHOLD: "1000" });
  });
  afterAll(async () => {
    await outage?.close();
  });

  it("when every connection is new and the server never answers it, then each call fails at the deadline as a timeout, not as a connection error", async () => {
    const { proxy, tracedLogin } = outage;
    // A stopped server first: the pooled connections are reset, and the calls that meet one (or
    // open a new one) fail at once as connection errors, which empties the pool.
    proxy.setMode("refuse");
    await waitFor("the pool's connections to be gone", () => proxy.openConnections === 0);
    for (let i = 0; i < 3; i++) {
      const { db } = await tracedLogin();
      expect(db.filter((s) => s.status.code === ERROR).map((s) => s.attributes["error.type"])).toEqual([
        "SERVICE_UNAVAILABLE",
      ]);
    }
    // Then a server that accepts and never answers: every call opens a connection that hangs.
    proxy.setMode("blackhole");
    const types: string[] = [];
    for (let i = 0; i < 8; i++) {
      const { call, db } = await tracedLogin();
      const failed = db.filter((s) => s.status.code === ERROR);
      expect(failed).toHaveLength(1);
      types.push(String(failed[0]?.attributes["error.type"]));
      expect(call.status).toEqual({ code: ERROR, message: "SERVICE_UNAVAILABLE" });
    }
    // Before: the driver's connect timer, as long as the guard's deadline but set before it, won,
    // so the same outage showed as SERVICE_UNAVAILABLE (a connection error) on some calls.
    expect(types).toEqual(Array(8).fill("timeout"));
  }, 60_000);
});
