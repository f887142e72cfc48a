import { generateKeyPairSync, randomUUID } from "node:crypto";
import { Code, createClient } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TokenService } from "../../gen/auth/v1/token_pb.js";
import { type AdminApi, connectAdminApi } from "../helpers/admin-api.js";
import { type AuthClient, authClient, connectTransport, grpcJsCall, grpcJsClient } from "../helpers/clients.js";
import {
  createTestDatabase,
  describeEachDatabase,
  postgresAvailable,
  type TestDatabase,
} from "../helpers/databases.js";
import { connectFailure, grpcJsFailure } from "../helpers/errors.js";
import { startServer, type TestServer, testClock, uniqueUser } from "../helpers/server.js";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.js";
import { openUserStore, type UserStore } from "../helpers/user-store.js";

/**
 * The three token checks other services use, over the network on SQLite and
 * PostgreSQL: auth.v1.TokenService/IntrospectToken (Connect, gRPC, REST),
 * Envoy's envoy.service.auth.v3.Authorization/Check (a plain @grpc/grpc-js
 * client built from the vendored proto/envoy files, as Envoy would call it)
 * and GET /forward-auth (as nginx auth_request and Traefik ForwardAuth call
 * it). Each must see a logout, a revocation, a deactivation and a role
 * change on the very next call.
 */

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

/** What a grpc-js client makes of a CheckResponse (keepCase, enums as names, oneofs named). */
interface CheckAnswer {
  status?: { code?: number; message?: string };
  http_response?: "ok_response" | "denied_response";
  ok_response?: {
    headers?: Array<{ header?: { key: string; value: string }; append_action?: string; keep_empty_value?: boolean }>;
    headers_to_remove?: string[];
  };
  denied_response?: {
    status?: { code?: string };
    headers?: Array<{ header?: { key: string; value: string }; append_action?: string }>;
    body?: string;
  };
}

/** The decision in a few fields: gRPC status in the answer, HTTP status and headers for the proxy. */
function decisionOf(a: CheckAnswer) {
  const headersOf = (list: Array<{ header?: { key: string; value: string } }> | undefined) =>
    Object.fromEntries((list ?? []).map((h) => [h.header?.key ?? "", h.header?.value ?? ""]));
  if (a.http_response === "ok_response") {
    return { code: a.status?.code ?? 0, http: 200, headers: headersOf(a.ok_response?.headers) };
  }
  const http = a.denied_response?.status?.code === "Forbidden" ? 403 : a.denied_response?.status?.code;
  return {
    code: a.status?.code ?? 0,
    http: http === "Unauthorized" ? 401 : http,
    headers: headersOf(a.denied_response?.headers),
    body: JSON.parse(a.denied_response?.body ?? "{}") as Record<string, unknown>,
  };
}

await describeEachDatabase(describe, "token checks", (kind) => {
  let server: TestServer;
  let store: UserStore;
  let auth: AuthClient;
  let admin: AdminApi;
  let envoy: grpc.Client;
  let rootToken: string;
  const clock = testClock();

  const tokens = () => createClient(TokenService, connectTransport(server.baseUrl));

  /** Envoy's Check as Envoy sends it: the request's headers in attributes.request.http.headers. */
  async function check(headers: Record<string, string>) {
    const r = await grpcJsCall<CheckAnswer>(envoy, "Check", { attributes: { request: { http: { headers } } } });
    if (r.error) throw r.error;
    return decisionOf(r.response ?? {});
  }

  async function forwardAuth(headers: Record<string, string>, method = "GET") {
    const res = await fetch(`${server.baseUrl}/forward-auth`, { method, headers });
    const text = await res.text();
    return {
      status: res.status,
      headers: res.headers,
      body: text === "" ? {} : (JSON.parse(text) as Record<string, unknown>),
    };
  }

  /** The raw JSON a Connect client and a REST client get for a token. */
  async function introspectJson(token: string) {
    const post = (path: string, headers: Record<string, string>) =>
      fetch(server.baseUrl + path, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ token }),
      }).then(async (r) => ({ status: r.status, json: (await r.json()) as Record<string, unknown> }));
    return {
      connect: await post("/auth.v1.TokenService/IntrospectToken", { "connect-protocol-version": "1" }),
      rest: await post("/tokens/introspect", {}),
    };
  }

  async function signUp(prefix = "u") {
    const u = uniqueUser(prefix);
    const res = await auth.register(u);
    const token = res.tokens?.accessToken ?? "";
    return {
      ...u,
      id: res.user?.id ?? "",
      token,
      refreshToken: res.tokens?.refreshToken ?? "",
      sessionId: String(decodeJwt(token).sid),
    };
  }

  beforeAll(async () => {
    server = await startServer({ db: kind, clock });
    store = await openUserStore(server.db);
    auth = authClient(connectTransport(server.baseUrl));
    admin = connectAdminApi(server.baseUrl);
    envoy = grpcJsClient(
      server.port,
      "envoy.service.auth.v3.Authorization",
      "envoy/service/auth/v3/external_auth.proto",
    );
    const root = await signUp("root");
    await store.grantRole(root.email, "admin");
    rootToken = root.token;
  });
  afterAll(async () => {
    envoy?.close();
    await store?.close();
    await server?.close();
  });

  describe("IntrospectToken", () => {
    it("when a live token is introspected over Connect, gRPC and REST, with no credential of the caller's own, then active with the user and the roles read now", async () => {
      const u = await signUp();
      await admin.setUserRoles(rootToken, u.id, ["reader", "billing.read"]);
      const claims = decodeJwt(u.token);
      expect(claims.roles).toEqual([]);

      const r = await tokens().introspectToken({ token: u.token });
      expect(r.active).toBe(true);
      expect(r.userId).toBe(u.id);
      expect(r.sessionId).toBe(u.sessionId);
      expect(r.roles).toEqual(["billing.read", "reader"]);
      expect(r.amr).toEqual(["pwd"]);
      expect(Number(r.issuedAt?.seconds)).toBe(claims.iat);
      expect(Number(r.expiresAt?.seconds)).toBe(claims.exp);
      expect(r.user).toMatchObject({ id: u.id, email: u.email, username: u.username, isActive: true });
      expect(r.user?.roles).toEqual(["billing.read", "reader"]);

      const client = grpcJsClient(server.port, "auth.v1.TokenService", "auth/v1/token.proto");
      try {
        const g = await grpcJsCall<Record<string, unknown>>(client, "IntrospectToken", { token: u.token });
        expect(g.response).toMatchObject({ active: true, user_id: u.id, roles: ["billing.read", "reader"] });
      } finally {
        client.close();
      }
      const { rest } = await introspectJson(u.token);
      expect(rest.status).toBe(200);
      expect(rest.json).toMatchObject({ active: true, user_id: u.id, session_id: u.sessionId, amr: ["pwd"] });
    });

    it("when the token is malformed, forged, a refresh token, logged out or expired, then exactly {active: false} and nothing else", async () => {
      const u = await signUp();
      const claims = decodeJwt(u.token);
      const { privateKey } = generateKeyPairSync("ed25519");
      const forged = await new SignJWT({ sid: claims.sid, roles: ["admin"], amr: ["pwd"] })
        .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid: decodeProtectedHeader(u.token).kid })
        .setIssuer(String(claims.iss))
        .setAudience(String(claims.aud))
        .setSubject(u.id)
        .setIssuedAt()
        .setExpirationTime("10m")
        .setJti(randomUUID())
        .sign(privateKey);
      const inactive = async (token: string) => {
        const { connect, rest } = await introspectJson(token);
        expect(connect).toEqual({ status: 200, json: { active: false } });
        expect(rest).toEqual({ status: 200, json: { active: false } });
      };
      for (const token of ["garbage", `${u.token}x`, forged, u.refreshToken, "a".repeat(10_000)]) await inactive(token);

      await auth.logout({ refreshToken: u.refreshToken });
      await inactive(u.token);

      const v = await signUp();
      const past = ((decodeJwt(v.token).exp ?? 0) + 1) * 1000 - Date.now();
      clock.advance(past);
      try {
        await inactive(v.token);
      } finally {
        clock.advance(-past);
      }
    });

    it("when the token is empty, then VALIDATION_ERROR: the request is malformed, not the token", async () => {
      const f = await connectFailure(tokens().introspectToken({ token: " " }));
      expect(f).toMatchObject({ code: Code.InvalidArgument, reason: "VALIDATION_ERROR", fields: ["token"] });
      const { rest } = await introspectJson("");
      expect(rest.status).toBe(400);
    });
  });

  describe("Envoy Check", () => {
    it("when the request carries a live token, then OK with x-user-id, x-session-id and x-user-roles, each overwriting what the client sent", async () => {
      const u = await signUp();
      await admin.setUserRoles(rootToken, u.id, ["support", "billing.read"]);
      const r = await grpcJsCall<CheckAnswer>(envoy, "Check", {
        attributes: {
          request: {
            http: {
              method: "GET",
              path: "/api/orders",
              headers: { authorization: `Bearer ${u.token}`, "x-user-id": "someone-else", "x-user-roles": "admin" },
            },
          },
        },
      });
      expect(r.error).toBeUndefined();
      const a = r.response ?? {};
      expect(a.http_response).toBe("ok_response");
      expect(a.status?.code ?? 0).toBe(0);
      expect(a.ok_response?.headers).toEqual([
        {
          header: { key: "x-user-id", value: u.id },
          append_action: "OVERWRITE_IF_EXISTS_OR_ADD",
          keep_empty_value: true,
        },
        {
          header: { key: "x-session-id", value: u.sessionId },
          append_action: "OVERWRITE_IF_EXISTS_OR_ADD",
          keep_empty_value: true,
        },
        {
          header: { key: "x-user-roles", value: "billing.read,support" },
          append_action: "OVERWRITE_IF_EXISTS_OR_ADD",
          keep_empty_value: true,
        },
      ]);
      expect(a.ok_response?.headers_to_remove ?? []).toEqual([]);
    });

    it("when the user has no roles, then x-user-roles is set empty and also removed, so a client's value cannot survive", async () => {
      const u = await signUp();
      const r = await grpcJsCall<CheckAnswer>(envoy, "Check", {
        attributes: { request: { http: { headers: { authorization: `Bearer ${u.token}`, "x-user-roles": "admin" } } } },
      });
      expect(r.response?.ok_response?.headers?.find((h) => h.header?.key === "x-user-roles")).toMatchObject({
        append_action: "OVERWRITE_IF_EXISTS_OR_ADD",
        keep_empty_value: true,
      });
      expect(r.response?.ok_response?.headers_to_remove).toEqual(["x-user-roles"]);
    });

    it("when Envoy sends raw headers (header_map), then the token is read from there", async () => {
      const u = await signUp();
      const r = await grpcJsCall<CheckAnswer>(envoy, "Check", {
        attributes: {
          request: {
            http: {
              header_map: { headers: [{ key: "authorization", raw_value: Buffer.from(`Bearer ${u.token}`) }] },
            },
          },
        },
      });
      expect(decisionOf(r.response ?? {})).toMatchObject({ code: 0, http: 200, headers: { "x-user-id": u.id } });
    });

    it("when no bearer token comes, then status 16 and HTTP 401 with `www-authenticate: Bearer`, never a gRPC error", async () => {
      const cases: Array<Record<string, string>> = [
        {},
        { authorization: `Basic ${Buffer.from("a:b").toString("base64")}` },
      ];
      for (const headers of cases) {
        const d = await check(headers);
        expect(d).toMatchObject({ code: Code.Unauthenticated, http: 401 });
        expect(d.headers["www-authenticate"]).toBe("Bearer");
        expect(d.body).toMatchObject({ error_code: "INVALID_TOKEN" });
      }
      const empty = await grpcJsCall<CheckAnswer>(envoy, "Check", {});
      expect(decisionOf(empty.response ?? {})).toMatchObject({ code: 16, http: 401 });
    });

    it('when a bad token comes, then status 16 and HTTP 401 with `Bearer error="invalid_token"`', async () => {
      const u = await signUp();
      for (const value of ["Bearer", "Bearer not-a-jwt", `Bearer ${u.refreshToken}`, `Bearer ${u.token} extra`]) {
        const d = await check({ authorization: value });
        expect(d, value).toMatchObject({ code: Code.Unauthenticated, http: 401 });
        expect(d.headers["www-authenticate"]).toBe('Bearer error="invalid_token"');
        expect(d.headers["content-type"]).toMatch(/^application\/json/);
      }
    });
  });

  describe("/forward-auth", () => {
    it("when the request carries a live token, then 200 with x-user-id, x-session-id and x-user-roles, whatever the method and the scheme's case", async () => {
      const u = await signUp();
      await admin.setUserRoles(rootToken, u.id, ["a", "b"]);
      for (const [method, value] of [
        ["GET", `Bearer ${u.token}`],
        ["HEAD", `bearer  ${u.token}`],
        ["POST", `BEARER ${u.token}`],
      ] as const) {
        const r = await forwardAuth({ authorization: value }, method);
        expect(r.status, method).toBe(200);
        expect(r.headers.get("x-user-id")).toBe(u.id);
        expect(r.headers.get("x-session-id")).toBe(u.sessionId);
        expect(r.headers.get("x-user-roles")).toBe("a,b");
        expect(r.headers.get("cache-control")).toBe("no-store");
      }
      const none = await signUp();
      expect((await forwardAuth({ authorization: `Bearer ${none.token}` })).headers.get("x-user-roles")).toBe("");
    });

    it("when no token or a bad one comes, then 401 with the matching www-authenticate and the JSON error", async () => {
      const missing = await forwardAuth({});
      expect(missing.status).toBe(401);
      expect(missing.headers.get("www-authenticate")).toBe("Bearer");
      expect(missing.headers.get("x-user-id")).toBeNull();
      expect(missing.body).toMatchObject({ error_code: "INVALID_TOKEN", request_id: expect.any(String) });
      const bad = await forwardAuth({ authorization: "Bearer nope" });
      expect(bad.status).toBe(401);
      expect(bad.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    });
  });

  describe("every check at once", () => {
    it("when an admin deactivates a user, then their existing token fails on GetCurrentUser, IntrospectToken, Check and /forward-auth on the next call", async () => {
      const u = await signUp();
      expect((await auth.getCurrentUser({}, bearer(u.token))).user?.id).toBe(u.id);
      expect((await tokens().introspectToken({ token: u.token })).active).toBe(true);
      expect((await check({ authorization: `Bearer ${u.token}` })).http).toBe(200);
      expect((await forwardAuth({ authorization: `Bearer ${u.token}` })).status).toBe(200);

      await admin.deactivateUser(rootToken, u.id);

      expect((await connectFailure(auth.getCurrentUser({}, bearer(u.token)))).reason).toBe("USER_INACTIVE");
      expect((await introspectJson(u.token)).connect.json).toEqual({ active: false });
      const d = await check({ authorization: `Bearer ${u.token}` });
      expect(d).toMatchObject({ code: Code.PermissionDenied, http: 403, body: { error_code: "USER_INACTIVE" } });
      const f = await forwardAuth({ authorization: `Bearer ${u.token}` });
      expect(f.status).toBe(403);
      expect(f.body).toMatchObject({ error_code: "USER_INACTIVE" });
    });

    it("when the user logs out or an admin revokes their sessions, then every check refuses the token on the next call", async () => {
      const u = await signUp();
      const second = await auth.login({ emailOrUsername: u.email, password: u.password });
      const other = second.tokens?.accessToken ?? "";
      await auth.logout({ refreshToken: u.refreshToken });
      expect((await connectFailure(auth.getCurrentUser({}, bearer(u.token)))).reason).toBe("TOKEN_REVOKED");
      expect((await introspectJson(u.token)).rest.json).toEqual({ active: false });
      expect(await check({ authorization: `Bearer ${u.token}` })).toMatchObject({ code: 16, http: 401 });
      expect((await forwardAuth({ authorization: `Bearer ${u.token}` })).status).toBe(401);
      // The other session was not touched, until an admin ends it.
      expect((await forwardAuth({ authorization: `Bearer ${other}` })).status).toBe(200);
      expect(await admin.revokeUserSessions(rootToken, u.id)).toBe(1);
      expect((await forwardAuth({ authorization: `Bearer ${other}` })).status).toBe(401);
      expect((await tokens().introspectToken({ token: other })).active).toBe(false);
      expect(await check({ authorization: `Bearer ${other}` })).toMatchObject({ code: 16, http: 401 });
    });

    it("when an admin changes roles, then Check, /forward-auth and introspection carry the new ones on the next call", async () => {
      const u = await signUp();
      await admin.setUserRoles(rootToken, u.id, ["old"]);
      expect((await check({ authorization: `Bearer ${u.token}` })).headers["x-user-roles"]).toBe("old");
      await admin.setUserRoles(rootToken, u.id, ["new", "other"]);
      expect((await check({ authorization: `Bearer ${u.token}` })).headers["x-user-roles"]).toBe("new,other");
      expect((await forwardAuth({ authorization: `Bearer ${u.token}` })).headers.get("x-user-roles")).toBe("new,other");
      expect((await tokens().introspectToken({ token: u.token })).roles).toEqual(["new", "other"]);
    });
  });
});

const pgOk = await postgresAvailable();

describe.skipIf(!pgOk)("token checks while PostgreSQL is unreachable", () => {
  let realDb: TestDatabase;
  let proxy: TcpProxy;
  let server: TestServer;
  let envoy: grpc.Client;

  beforeAll(async () => {
    realDb = await createTestDatabase("postgresql");
    const url = new URL(realDb.url);
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    url.port = String(proxy.port);
    server = await startServer({
      db: { kind: "postgresql", url: url.toString(), drop: () => realDb.drop() },
      env: { DB_TIMEOUT_MS: "500", BREAKER_THRESHOLD: "3", BREAKER_HALF_OPEN_AFTER_MS: "1000", LOG_LEVEL: "info" },
    });
    envoy = grpcJsClient(
      server.port,
      "envoy.service.auth.v3.Authorization",
      "envoy/service/auth/v3/external_auth.proto",
    );
  });
  afterAll(async () => {
    envoy?.close();
    await server?.close();
    await proxy?.close();
  });

  it("when the database cannot answer, then Check fails with UNAVAILABLE (not a denial), /forward-auth with 503, IntrospectToken with SERVICE_UNAVAILABLE", async () => {
    const u = uniqueUser();
    const token = (await authClient(connectTransport(server.baseUrl)).register(u)).tokens?.accessToken ?? "";
    proxy.setMode("refuse");
    try {
      const r = await grpcJsCall(envoy, "Check", {
        attributes: { request: { http: { headers: { authorization: `Bearer ${token}` } } } },
      });
      expect(r.error?.code).toBe(grpc.status.UNAVAILABLE);
      expect(grpcJsFailure(r.error).reason).toBe("SERVICE_UNAVAILABLE");
      const f = await fetch(`${server.baseUrl}/forward-auth`, { headers: { authorization: `Bearer ${token}` } });
      expect(f.status).toBe(503);
      expect(((await f.json()) as { error_code: string }).error_code).toBe("SERVICE_UNAVAILABLE");
      const i = await connectFailure(
        createClient(TokenService, connectTransport(server.baseUrl)).introspectToken({ token }),
      );
      expect(i).toMatchObject({ code: Code.Unavailable, reason: "SERVICE_UNAVAILABLE" });
    } finally {
      proxy.setMode("pass");
    }
  });
});
