/**
 * Thousands of random and malformed requests against every RPC (Connect
 * binary, Connect JSON, gRPC) and every REST route: none may end in
 * INTERNAL / 5xx, hang or take the server down, and the database may hold
 * only what the requests that succeeded created.
 */

import { Code } from "@connectrpc/connect";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/auth/v1/auth_pb.js";
import { queryDatabase } from "../helpers/databases.js";
import { connectRaw, grpcRaw, type RawResult } from "../helpers/raw-calls.js";
import { startServer, type TestServer } from "../helpers/server.js";

const methods = AuthService.methods;
const rpcPath = (name: string) => `/${AuthService.typeName}/${name}`;
const REST = [
  { method: "POST", path: "/auth/register", rpc: "Register" },
  { method: "POST", path: "/auth/login", rpc: "Login" },
  { method: "POST", path: "/auth/refresh", rpc: "Refresh" },
  { method: "POST", path: "/auth/logout", rpc: "Logout" },
] as const;

/** A value for a request field: usually the right type, sometimes anything at all. */
const fieldValue = (plausible: fc.Arbitrary<string>) =>
  fc.oneof(
    { weight: 6, arbitrary: plausible },
    { weight: 2, arbitrary: fc.string() },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  );

const requestBody = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      {
        email: fieldValue(fc.oneof(fc.emailAddress(), fc.constantFrom("a@b.co", "x@y"))),
        username: fieldValue(fc.stringMatching(/^[A-Za-z0-9_.-]{3,20}$/)),
        password: fieldValue(fc.string({ minLength: 12, maxLength: 40, unit: "grapheme" })),
        emailOrUsername: fieldValue(fc.stringMatching(/^[A-Za-z0-9_@.-]{1,30}$/)),
        email_or_username: fieldValue(fc.string()),
        refreshToken: fieldValue(fc.stringMatching(/^[A-Za-z0-9_-]{43}$/)),
        refresh_token: fieldValue(fc.string()),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** Either JSON of a body, or raw text that is usually not JSON at all. */
const jsonText = fc.oneof(
  { weight: 5, arbitrary: requestBody.map((b) => JSON.stringify(b)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
);

describe("fuzzing every RPC and REST route", () => {
  let server: TestServer;
  const successes = { register: 0, login: 0 };
  const count = (rpc: string, ok: boolean) => {
    if (!ok) return;
    if (rpc === "Register") successes.register++;
    if (rpc === "Login") successes.login++;
  };
  const notInternal = (r: RawResult, what: string) => {
    expect(r.code, what).not.toBe(Code.Internal);
    expect(r.code, what).not.toBe(Code.Unknown);
    expect(Number.isNaN(r.code), what).toBe(false);
    expect(r.httpStatus, what).toBeLessThan(500);
    if (r.code !== 0) expect(r.reason, what).toBeDefined();
  };

  beforeAll(async () => {
    server = await startServer({ env: { BCRYPT_ROUNDS: "4", LOG_LEVEL: "warn" } });
  });
  afterAll(() => server?.close());

  it("when random bytes are sent as binary messages over Connect and gRPC, then never INTERNAL", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...methods),
        fc.uint8Array({ maxLength: 300 }),
        fc.boolean(),
        async (m, bytes, overGrpc) => {
          const r = overGrpc
            ? await grpcRaw(server.port, rpcPath(m.name), bytes)
            : await connectRaw(server.baseUrl, rpcPath(m.name), bytes, true);
          notInternal(r, `${m.name} ${overGrpc ? "grpc" : "connect"} ${Buffer.from(bytes).toString("hex")}`);
          count(m.name, r.code === 0);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("when random JSON and near-valid requests are sent over Connect JSON, then never INTERNAL", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...methods), jsonText, async (m, body) => {
        const r = await connectRaw(server.baseUrl, rpcPath(m.name), body, false);
        notInternal(r, `${m.name} ${body}`);
        count(m.name, r.code === 0);
      }),
      { numRuns: 2500 },
    );
  });

  it("when random JSON and near-valid requests are sent to the REST routes, then never a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...REST), jsonText, async (route, body) => {
        const res = await fetch(server.baseUrl + route.path, {
          method: route.method,
          headers: { "content-type": "application/json" },
          body,
          signal: AbortSignal.timeout(10_000),
        });
        const payload = (await res.json()) as { error_code?: string };
        expect(res.status, `${route.path} ${body}`).toBeLessThan(500);
        if (res.status >= 400) expect(payload.error_code, `${route.path} ${body}`).not.toBe("INTERNAL_ERROR");
        count(route.rpc, res.status === 200);
      }),
      { numRuns: 1500 },
    );
  });

  it("when random authorization headers are sent to GetCurrentUser and GET /users/me, then never INTERNAL", async () => {
    const header = fc.oneof(
      fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 }),
      fc.stringMatching(/^[A-Za-z0-9_-]{0,60}\.[A-Za-z0-9_-]{0,200}\.[A-Za-z0-9_-]{0,90}$/).map((t) => `Bearer ${t}`),
    );
    await fc.assert(
      fc.asyncProperty(header, fc.boolean(), async (authorization, rest) => {
        const res = rest
          ? await fetch(`${server.baseUrl}/users/me`, {
              headers: { authorization },
              signal: AbortSignal.timeout(10_000),
            })
          : await fetch(server.baseUrl + rpcPath("GetCurrentUser"), {
              method: "POST",
              headers: { authorization, "content-type": "application/json" },
              body: "{}",
              signal: AbortSignal.timeout(10_000),
            });
        await res.arrayBuffer();
        expect(res.status, authorization).toBeLessThan(500);
        expect(res.status, authorization).not.toBe(200);
      }),
      { numRuns: 500 },
    );
  });

  it("when the fuzzing is over, then the server is healthy, logged no error, and the database holds only what succeeded", async () => {
    expect((await fetch(`${server.baseUrl}/health`)).status).toBe(200);
    expect(server.logs.filter((l) => l.level === "error")).toEqual([]);
    const count = async (table: string) =>
      (await queryDatabase<{ n: number | string }>(server.db, `select count(*) as n from ${table}`))[0];
    const [users, sessions, tokens] = [await count("users"), await count("sessions"), await count("refresh_tokens")];
    console.info(`fuzz: ${successes.register} registrations and ${successes.login} logins succeeded`);
    expect(Number(users?.n)).toBe(successes.register);
    expect(Number(sessions?.n)).toBe(successes.register + successes.login);
    expect(Number(tokens?.n)).toBe(successes.register + successes.login);
  });
});
