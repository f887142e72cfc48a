import type * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { grpcJsCall, grpcJsClient } from "../helpers/clients.js";
import { describeEachDatabase } from "../helpers/databases.js";
import { metricValue } from "../helpers/metrics.js";
import { startServer, type TestServer, uniqueUser } from "../helpers/server.js";

/**
 * Issue 10, item 2: the data of one request must never open the circuit
 * breaker. On PostgreSQL a NUL byte in a text value is refused by the server
 * (SQLSTATE 22021 as a bound parameter, 08P01 inlined into the SQL text); that
 * is a client error, not an outage.
 */

const NUL_LOGIN = "x\u0000@a.b";

await describeEachDatabase(describe, "input cannot open the circuit breaker", (kind) => {
  let server: TestServer;
  let auth: grpc.Client;
  let health: grpc.Client;
  beforeAll(async () => {
    server = await startServer({
      db: kind,
      // A low threshold: three counted failures would open the circuit. The per-account login
      // throttling is out of the way, so every call reaches the database.
      env: { BREAKER_THRESHOLD: "3", LOGIN_ACCOUNT_FREE_FAILURES: "100", LOGIN_ACCOUNT_MAX_FAILURES: "100" },
    });
    auth = grpcJsClient(server.port);
    health = grpcJsClient(server.port, "grpc.health.v1.Health", "grpc/health/v1/health.proto");
  });
  afterAll(async () => {
    auth?.close();
    health?.close();
    await server?.close();
  });

  const grpcCode = { INVALID_ARGUMENT: 3, UNAUTHENTICATED: 16 };

  it("when 20 Logins over gRPC and REST carry a NUL byte in the identifier, then each is a client error and health stays SERVING", async () => {
    const codes: Array<number | undefined> = [];
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      const { error } = await grpcJsCall(auth, "Login", {
        email_or_username: NUL_LOGIN,
        password: "any password at all",
      });
      codes.push(error?.code);
      const res = await fetch(`${server.baseUrl}/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email_or_username: NUL_LOGIN, password: "any password at all" }),
      });
      statuses.push(res.status);
      const body = (await res.json()) as { error_code?: string };
      expect(["VALIDATION_ERROR", "INVALID_CREDENTIALS"]).toContain(body.error_code);
    }
    for (const code of codes) expect([grpcCode.INVALID_ARGUMENT, grpcCode.UNAUTHENTICATED]).toContain(code);
    for (const status of statuses) expect([400, 401]).toContain(status);

    const check = await grpcJsCall<{ status: string }>(health, "Check", { service: "" });
    expect(check.error).toBeUndefined();
    expect(check.response?.status).toBe("SERVING");
    // 0: the circuit breaker is closed.
    expect(metricValue(await (await fetch(`${server.baseUrl}/metrics`)).text(), "warden_db_circuit_state")).toBe(0);

    // And the service still serves everyone else.
    const u = uniqueUser("after");
    const registered = await grpcJsCall(auth, "Register", u);
    expect(registered.error).toBeUndefined();
  });
});
