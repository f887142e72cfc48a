/**
 * The logs at their most verbose, after every RPC of auth.v1.AuthService ran
 * with known secrets in it, over Connect and over gRPC.
 */

import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashRefreshToken } from "../../src/domain/refresh-tokens.js";
import { authClient, connectTransport, grpcJsCall, grpcJsClient, grpcTransport } from "../helpers/clients.js";
import { healthClient } from "../helpers/health.js";
import { startServer, type TestServer, uniqueUser } from "../helpers/server.js";

/** Lines about the process, written outside any call. */
const PROCESS_MESSAGES = new Set(["listening", "stopped", "health changed", "database circuit breaker"]);

describe("structured logs at debug level", () => {
  let server: TestServer;
  const secrets: string[] = [];
  const requestIds: string[] = [];
  let seq = 0;
  /** Call options with a fresh, known x-request-id. */
  const tagged = (extra: Record<string, string> = {}) => {
    const id = `ops-log-${++seq}`;
    requestIds.push(id);
    return { headers: { "x-request-id": id, ...extra } };
  };

  beforeAll(async () => {
    server = await startServer({ db: "sqlite", env: { LOG_LEVEL: "debug", REFRESH_REUSE_INTERVAL: "0" } });
    const u = uniqueUser("log");
    secrets.push(u.password);

    for (const transport of [connectTransport(server.baseUrl), grpcTransport(server.baseUrl)]) {
      const client = authClient(transport);
      const v = uniqueUser("log");
      secrets.push(v.password);
      const reg = await client.register(v, tagged());
      // A duplicate with another password, and a login with a wrong one.
      const otherPassword = `other-${v.password}`;
      secrets.push(otherPassword);
      await client.register({ ...v, password: otherPassword }, tagged()).catch(() => undefined);
      const wrong = `wrong-${v.password}`;
      secrets.push(wrong);
      await client.login({ emailOrUsername: v.email, password: wrong }, tagged()).catch(() => undefined);
      const login = await client.login({ emailOrUsername: v.username, password: v.password }, tagged());
      const access = login.tokens?.accessToken ?? "";
      await client.getCurrentUser({}, tagged({ authorization: `Bearer ${access}` }));
      const forged = `${access.slice(0, -8)}AAAAAAAA`;
      await client.getCurrentUser({}, tagged({ authorization: `Bearer ${forged}` })).catch(() => undefined);
      const refreshed = await client.refresh({ refreshToken: login.tokens?.refreshToken ?? "" }, tagged());
      // Reuse of the rotated token: reuse detection revokes the session.
      await client.refresh({ refreshToken: login.tokens?.refreshToken ?? "" }, tagged()).catch(() => undefined);
      await client.logout({ refreshToken: reg.tokens?.refreshToken ?? "" }, tagged());
      for (const t of [reg.tokens, login.tokens, refreshed.tokens]) {
        secrets.push(t?.accessToken ?? "", t?.refreshToken ?? "", hashRefreshToken(t?.refreshToken ?? ""));
      }
      secrets.push(forged);
    }

    // grpc-js, with the token in metadata as other gRPC services send it.
    const js = grpcJsClient(server.port);
    const login = await grpcJsCall<{ tokens: { access_token: string } }>(js, "Login", {
      email_or_username: u.email,
      password: u.password,
    });
    expect(login.error?.code).toBe(grpc.status.UNAUTHENTICATED);
    const md = new grpc.Metadata();
    md.set("authorization", "Bearer grpc-js-secret-token-0123456789");
    secrets.push("grpc-js-secret-token-0123456789");
    await grpcJsCall(js, "GetCurrentUser", {}, md);
    js.close();
    // Health checks log at debug: proof that debug lines were written and searched.
    await healthClient(server.baseUrl).check({ service: "" }, tagged());
  });
  afterAll(() => server?.close());

  it("when secrets pass through every RPC, then no log line at any level holds a password, token, token hash or password hash", () => {
    const all = server.rawLogs.join("\n");
    expect(secrets.filter((s) => s.length < 16)).toEqual([]);
    for (const secret of secrets) expect(all).not.toContain(secret);
    // bcrypt hashes, whatever the user.
    expect(all).not.toMatch(/\$2[aby]\$\d\d\$/);
    expect(all.toLowerCase()).not.toContain("bearer");
    // The calls did write at debug level, so the search covered every level.
    expect(server.logs.some((l) => l.level === "debug")).toBe(true);
    expect(server.logs.filter((l) => l.message === "rpc").length).toBeGreaterThanOrEqual(requestIds.length);
  });

  it("when a call is served, then every line it writes, domain audit lines included, carries its request id", () => {
    const afterStart = server.logs.slice(server.logs.findIndex((l) => l.message === "listening") + 1);
    const withoutId = afterStart.filter(
      (l) => !PROCESS_MESSAGES.has(String(l.message)) && typeof l.request_id !== "string",
    );
    expect(withoutId).toEqual([]);
    const audit = server.logs.filter((l) => l.message === "audit");
    expect(audit.map((l) => l.event)).toEqual(
      expect.arrayContaining(["register", "login", "refresh", "refresh_reuse_detected", "logout"]),
    );
    for (const id of requestIds) {
      expect(server.logs.filter((l) => l.request_id === id && l.message === "rpc")).toHaveLength(1);
    }
  });

  it("when a call ends, then its one call line names procedure, protocol, code, duration and peer", () => {
    const lines = server.logs.filter(
      (l) => l.message === "rpc" && String(l.procedure).startsWith("auth.v1.AuthService/"),
    );
    const procedures = new Set(lines.map((l) => l.procedure));
    for (const m of ["Register", "Login", "Refresh", "Logout", "GetCurrentUser"])
      expect(procedures).toContain(`auth.v1.AuthService/${m}`);
    expect(new Set(lines.map((l) => l.protocol))).toEqual(new Set(["connect", "grpc"]));
    expect(new Set(lines.map((l) => l.code))).toEqual(new Set(["ok", "already_exists", "unauthenticated"]));
    for (const l of lines) {
      expect(l).toMatchObject({ level: "info", peer: "127.0.0.1" });
      expect(typeof l.duration_ms).toBe("number");
      expect(typeof l.request_id).toBe("string");
      expect(typeof l.timestamp).toBe("string");
    }
  });
});
