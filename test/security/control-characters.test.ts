import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import {
  type AuthClient,
  authClient,
  connectTransport,
  grpcJsCall,
  grpcJsClient,
  grpcTransport,
} from "../helpers/clients.js";
import { postgresAvailable } from "../helpers/databases.js";
import { connectFailure, grpcJsFailure } from "../helpers/errors.js";
import { metricValue } from "../helpers/metrics.js";
import { startServer, type TestServer, uniqueUser } from "../helpers/server.js";

/**
 * Item 2 of issue 10: input is validated before any database call. On
 * PostgreSQL a NUL byte in a query parameter fails in the driver (SQLSTATE
 * 08P01, a protocol error); before the fix five such logins opened the
 * circuit breaker and the whole service answered UNAVAILABLE.
 */

const NUL_LOGIN = "x\u0000@a.b";
const pgOk = await postgresAvailable();

describe.skipIf(!pgOk)("control characters and overlong fields [postgresql]", () => {
  let server: TestServer;
  let client: AuthClient;
  beforeAll(async () => {
    // A low breaker threshold: were any of these requests to reach the database, it would open.
    server = await startServer({ db: "postgresql", env: { BREAKER_THRESHOLD: "3" } });
    client = authClient(connectTransport(server.baseUrl));
  });
  afterAll(() => server?.close());

  const healthOverGrpc = () => createClient(Health, grpcTransport(server.baseUrl)).check({ service: "" });

  it("when 20 logins carry a NUL byte in the identifier over gRPC and REST, then each is INVALID_ARGUMENT and health stays SERVING", async () => {
    const grpc = grpcJsClient(server.port);
    try {
      for (let i = 0; i < 10; i++) {
        const { error } = await grpcJsCall(grpc, "Login", {
          email_or_username: NUL_LOGIN,
          password: "whatever-password",
        });
        const f = grpcJsFailure(error);
        expect(f.code).toBe(3); // INVALID_ARGUMENT
        expect(f.reason).toBe("VALIDATION_ERROR");
        expect(f.fields).toEqual(["email_or_username"]);
      }
    } finally {
      grpc.close();
    }
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${server.baseUrl}/auth/login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email_or_username: NUL_LOGIN, password: "whatever-password" }),
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error_code: string }).error_code).toBe("VALIDATION_ERROR");
    }
    expect((await healthOverGrpc()).status).toBe(Status.SERVING);
    // 0: the circuit breaker is closed.
    expect(metricValue(await (await fetch(`${server.baseUrl}/metrics`)).text(), "warden_db_circuit_state")).toBe(0);
    expect((await fetch(`${server.baseUrl}/health`)).status).toBe(200);
    // And the service still does its job.
    const u = uniqueUser();
    await client.register(u);
    expect((await client.login({ emailOrUsername: u.email, password: u.password })).user?.email).toBe(u.email);
  });

  it("when any string field holds a control character, then VALIDATION_ERROR names that field", async () => {
    const u = uniqueUser();
    const cases: Array<[string, () => Promise<unknown>, string]> = [
      ["e-mail with NUL", () => client.register({ ...u, email: `a\u0000${u.email}` }), "email"],
      ["e-mail with a C1 control", () => client.register({ ...u, email: `a\u0085${u.email}` }), "email"],
      ["username with a tab", () => client.register({ ...u, username: `a\tb${u.username}` }), "username"],
      ["password with an escape", () => client.register({ ...u, password: `${u.password}\u001b[2J` }), "password"],
      [
        "login with DEL",
        () => client.login({ emailOrUsername: `bob\u007f`, password: "whatever" }),
        "email_or_username",
      ],
      ["refresh token with NUL", () => client.refresh({ refreshToken: `${"A".repeat(42)}\u0000` }), "refresh_token"],
      ["logout token with NUL", () => client.logout({ refreshToken: `\u0000${"A".repeat(42)}` }), "refresh_token"],
    ];
    for (const [what, call, field] of cases) {
      const f = await connectFailure(call());
      expect(f.reason, what).toBe("VALIDATION_ERROR");
      expect(f.fields, what).toEqual([field]);
    }
    expect((await healthOverGrpc()).status).toBe(Status.SERVING);
  });

  it("when identifiers and tokens are longer than their caps, then VALIDATION_ERROR before the database is asked", async () => {
    const local = "a".repeat(64);
    const longEmail = `${local}@${"b".repeat(63)}.${"c".repeat(63)}.${"d".repeat(63)}.example`; // > 254
    const cases: Array<[string, () => Promise<unknown>, string]> = [
      ["e-mail over 254", () => client.register({ ...uniqueUser(), email: longEmail }), "email"],
      [
        "identifier over 254",
        () => client.login({ emailOrUsername: "x".repeat(255), password: "whatever" }),
        "email_or_username",
      ],
      ["refresh token over 512", () => client.refresh({ refreshToken: "A".repeat(513) }), "refresh_token"],
    ];
    for (const [what, call, field] of cases) {
      const f = await connectFailure(call());
      expect(f.reason, what).toBe("VALIDATION_ERROR");
      expect(f.fields, what).toEqual([field]);
    }
    // Within the cap but not a token of ours: still the token's own answer.
    expect((await connectFailure(client.refresh({ refreshToken: "A".repeat(512) }))).reason).toBe("INVALID_TOKEN");
  });

  it("when an e-mail is written with compatibility characters, then NFKC makes it the same address", async () => {
    const u = uniqueUser();
    const [local, domain] = u.email.split("@") as [string, string];
    // Fullwidth letters and digits, as some keyboards type them.
    const fullwidth = [...local].map((c) =>
      /[a-z0-9]/.test(c) ? String.fromCodePoint(c.codePointAt(0)! + 0xfee0) : c,
    );
    const res = await client.register({ ...u, email: `${fullwidth.join("")}@${domain}` });
    expect(res.user?.email).toBe(u.email);
    expect((await client.login({ emailOrUsername: u.email, password: u.password })).user?.id).toBe(res.user?.id);
    expect((await connectFailure(client.register({ ...uniqueUser(), email: u.email }))).reason).toBe(
      "USER_ALREADY_EXISTS",
    );
  });
});
