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

describe.skipIf(!pgOk)("database spans while PostgreSQL does not answer", () => {
  let realDb: TestDatabase;
  let proxy: TcpProxy;
  let server: TestServer;
  let client: AuthClient;
  const exporter = new InMemorySpanExporter();
  const user = uniqueUser("outage");

  beforeAll(async () => {
    realDb = await createTestDatabase("postgresql");
    const url = new URL(realDb.url);
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(proxy.port);
    server = await startServer({
      db: { kind: "postgresql", url: url.toString(), drop: () => realDb.drop() },
      // The circuit stays open for the rest of the test once it opened.
      env: { DB_TIMEOUT_MS: "400", BREAKER_THRESHOLD: "2", BREAKER_HALF_OPEN_AFTER_MS: "600000", LOG_LEVEL: "info" },
      spanProcessor: new SimpleSpanProcessor({ exporter }),
    });
    client = authClient(connectTransport(server.baseUrl));
    await client.register(user);
  });
  afterAll(async () => {
    await server?.close();
    await proxy?.close();
  });

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

  it("when the link is black-holed, then a repository call shows as a span that failed with timeout, and once the circuit opens as one refused with circuit_open; the call's span is UNAVAILABLE", async () => {
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
