import { connect } from "node:http2";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer, uniqueUser } from "../helpers/server.js";

interface ErrorBody {
  error_code: string;
  detail: string;
  timestamp: string;
  request_id: string;
  field_violations?: Array<{ field: string; description: string }>;
}

interface TokenBody {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  refresh_expires_in: number;
}

interface AuthBody {
  user: { id: string; email: string; username: string; is_active: boolean; created_at: string };
  tokens: TokenBody;
}

describe("REST routes from the google.api.http annotations", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server?.close());

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(server.baseUrl + path, {
      method,
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, json: (await res.json()) as unknown };
  };

  const expectError = (
    r: { status: number; headers: Headers; json: unknown },
    status: number,
    code: string,
  ): ErrorBody => {
    expect(r.status).toBe(status);
    const body = r.json as ErrorBody;
    expect(Object.keys(body)).toEqual(expect.arrayContaining(["error_code", "detail", "timestamp", "request_id"]));
    expect(body.error_code).toBe(code);
    expect(typeof body.detail).toBe("string");
    expect(Number.isNaN(Date.parse(body.timestamp))).toBe(false);
    expect(body.request_id).toBe(r.headers.get("x-request-id"));
    expect(JSON.stringify(body)).not.toMatch(/\s+at\s.+\(.*:\d+:\d+\)|select |insert /i);
    return body;
  };

  it("when a user registers, logs in, refreshes, reads /users/me and logs out over REST, then every step answers in snake_case", async () => {
    const u = uniqueUser("rest");
    const reg = await call("POST", "/auth/register", u);
    expect(reg.status).toBe(200);
    const regBody = reg.json as AuthBody;
    expect(regBody.user.email).toBe(u.email);
    expect(regBody.user.is_active).toBe(true);
    expect(regBody.tokens.token_type).toBe("Bearer");
    expect(regBody.tokens.expires_in).toBeGreaterThan(0);
    expect(JSON.stringify(reg.json)).not.toMatch(/accessToken|tokenType|expiresIn|isActive|createdAt/);

    const login = await call(
      "POST",
      "/auth/login",
      { email_or_username: u.username, password: u.password },
      { "x-request-id": "rest-login-1" },
    );
    expect(login.status).toBe(200);
    expect(login.headers.get("x-request-id")).toBe("rest-login-1");
    const tokens = (login.json as AuthBody).tokens;
    expect(tokens.access_token.split(".")).toHaveLength(3);

    const refreshed = await call("POST", "/auth/refresh", { refresh_token: tokens.refresh_token });
    expect(refreshed.status).toBe(200);
    const next = (refreshed.json as AuthBody).tokens;
    expect(next.refresh_token).not.toBe(tokens.refresh_token);

    const me = await call("GET", "/users/me", undefined, { authorization: `Bearer ${next.access_token}` });
    expect(me.status).toBe(200);
    expect((me.json as { user: AuthBody["user"] }).user.id).toBe(regBody.user.id);
    expect((me.json as { user: Record<string, unknown> }).user).toHaveProperty("last_login_at");

    const out = await call("POST", "/auth/logout", { refresh_token: next.refresh_token });
    expect(out.status).toBe(200);
    expect(out.json).toEqual({});
    expectError(await call("POST", "/auth/refresh", { refresh_token: next.refresh_token }), 401, "TOKEN_REVOKED");
  });

  it("when the body uses lowerCamelCase names, then they are accepted too", async () => {
    const u = uniqueUser("camel");
    expect((await call("POST", "/auth/register", u)).status).toBe(200);
    const login = await call("POST", "/auth/login", { emailOrUsername: u.email, password: u.password });
    expect(login.status).toBe(200);
    const refresh = await call("POST", "/auth/refresh", {
      refreshToken: (login.json as AuthBody).tokens.refresh_token,
    });
    expect(refresh.status).toBe(200);
  });

  it("when fields are invalid, then 400 VALIDATION_ERROR names them", async () => {
    const body = expectError(
      await call("POST", "/auth/register", { email: "not-an-email", username: "x", password: "short" }),
      400,
      "VALIDATION_ERROR",
    );
    const fields = (body.field_violations ?? []).map((v) => v.field);
    expect(fields).toEqual(expect.arrayContaining(["email", "username", "password"]));
  });

  it("when the body is not JSON, then 400 VALIDATION_ERROR and never 500", async () => {
    expectError(await call("POST", "/auth/login", '{"email_or_username": "a",'), 400, "VALIDATION_ERROR");
    expectError(await call("POST", "/auth/login", "[1,2,3]"), 400, "VALIDATION_ERROR");
    expectError(await call("POST", "/auth/login", { email_or_username: 42, password: ["x"] }), 400, "VALIDATION_ERROR");
    expectError(await call("POST", "/auth/login", { unknown_field: "x" }), 400, "VALIDATION_ERROR");
  });

  it("when the content type is not JSON, then a 415 in the error shape", async () => {
    const res = await fetch(`${server.baseUrl}/auth/login`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "hello",
    });
    expectError({ status: res.status, headers: res.headers, json: await res.json() }, 415, "VALIDATION_ERROR");
  });

  it("when the body is larger than MAX_BODY_BYTES, then a 413 in the error shape", async () => {
    const big = { email_or_username: "a".repeat(100_000), password: "x" };
    expectError(await call("POST", "/auth/login", big), 413, "VALIDATION_ERROR");
  });

  it("when the verb is wrong for a known path, then 405 with Allow", async () => {
    const r = await call("GET", "/auth/login");
    expectError(r, 405, "VALIDATION_ERROR");
    expect(r.headers.get("allow")).toBe("POST");
  });

  it("when the password is wrong, then 401 INVALID_CREDENTIALS", async () => {
    const u = uniqueUser("wrong");
    await call("POST", "/auth/register", u);
    const body = expectError(
      await call("POST", "/auth/login", { email_or_username: u.email, password: "wrong-password-123" }),
      401,
      "INVALID_CREDENTIALS",
    );
    expect(body.detail).not.toContain(u.email);
  });

  it("when the access token is bad or missing, then 401 INVALID_TOKEN", async () => {
    expectError(await call("GET", "/users/me", undefined, { authorization: "Bearer not.a.jwt" }), 401, "INVALID_TOKEN");
    expectError(await call("GET", "/users/me"), 401, "INVALID_TOKEN");
  });

  it("when the route is unknown, then 404 in the error shape", async () => {
    expectError(await call("GET", "/auth/nothing-here"), 404, "NOT_FOUND");
  });

  it("when the e-mail is already registered, then 409 USER_ALREADY_EXISTS", async () => {
    const u = uniqueUser("dup");
    await call("POST", "/auth/register", u);
    expectError(
      await call("POST", "/auth/register", { ...u, username: `${u.username}x`, email: u.email.toUpperCase() }),
      409,
      "USER_ALREADY_EXISTS",
    );
  });

  it("when the user is deactivated, then login answers 403 USER_INACTIVE", async () => {
    const u = uniqueUser("inactive");
    const reg = await call("POST", "/auth/register", u);
    await server.app.services.auth.setActive((reg.json as AuthBody).user.id, false);
    expectError(
      await call("POST", "/auth/login", { email_or_username: u.username, password: u.password }),
      403,
      "USER_INACTIVE",
    );
  });

  it("when REST is called over HTTP/2 cleartext, then it answers as over HTTP/1.1", async () => {
    const session = connect(server.baseUrl);
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = session.request({ ":method": "POST", ":path": "/auth/login", "content-type": "application/json" });
        let status = 0;
        let body = "";
        req.on("response", (h) => (status = Number(h[":status"])));
        req.on("data", (c: Buffer) => (body += c.toString("utf8")));
        req.on("end", () => resolve({ status, body }));
        req.on("error", reject);
        req.end(JSON.stringify({ email_or_username: "nobody-h2", password: "whatever-123456" }));
      });
      expect(status).toBe(401);
      expect((JSON.parse(body) as ErrorBody).error_code).toBe("INVALID_CREDENTIALS");
    } finally {
      session.close();
    }
  });

  it("when arbitrary bodies are posted to every route, then the answer is always a 4xx in the error shape", async () => {
    const routes = ["/auth/register", "/auth/login", "/auth/refresh", "/auth/logout"];
    const body = fc.oneof(
      fc.string(),
      fc.json(),
      fc
        .dictionary(
          fc.constantFrom("email", "username", "password", "email_or_username", "refresh_token", "refreshToken"),
          fc.jsonValue(),
        )
        .map((d) => JSON.stringify(d)),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), body, async (route, text) => {
        const r = await call("POST", route, text);
        // A random body may happen to be a valid registration; everything else must be a clean 4xx.
        if (r.status === 200) return;
        expect(r.status).toBeGreaterThanOrEqual(400);
        expect(r.status).toBeLessThan(500);
        expect((r.json as ErrorBody).request_id).toBe(r.headers.get("x-request-id"));
      }),
      { numRuns: 150 },
    );
  });

  it("when a REST call fails, then the interceptors log it under the same request id as the response", async () => {
    await call(
      "POST",
      "/auth/login",
      { email_or_username: "nobody-here", password: "whatever-123456" },
      { "x-request-id": "rest-log-check" },
    );
    const line = server.logs.find((l) => l.message === "rpc" && l.request_id === "rest-log-check");
    expect(line).toMatchObject({ procedure: "auth.v1.AuthService/Login", code: "unauthenticated", protocol: "rest" });
  });
});

describe("REST routes and the per-address limits", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ env: { REGISTER_ADDRESS_LIMIT: "2" } });
  });
  afterAll(() => server?.close());

  it("when one address registers past REGISTER_ADDRESS_LIMIT over REST, then 429 RATE_LIMITED with Retry-After", async () => {
    const register = () =>
      fetch(`${server.baseUrl}/auth/register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(uniqueUser("limit")),
      });
    expect((await register()).status).toBe(200);
    expect((await register()).status).toBe(200);
    const refused = await register();
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await refused.json()) as ErrorBody;
    expect(body.error_code).toBe("RATE_LIMITED");
    expect(body.request_id).toBe(refused.headers.get("x-request-id"));
  });
});
