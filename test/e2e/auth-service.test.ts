import { randomUUID } from "node:crypto";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AuthClient,
  authClient,
  connectTransport,
  grpcJsCall,
  grpcJsClient,
  grpcTransport,
  grpcWebTransport,
} from "../helpers/clients.js";
import { describeEachDatabase } from "../helpers/databases.js";
import { connectFailure, grpcJsFailure } from "../helpers/errors.js";
import { startServer, type TestServer, testClock, uniqueUser } from "../helpers/server.js";

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

await describeEachDatabase(describe, "AuthService over the network", (kind) => {
  let server: TestServer;
  let client: AuthClient;
  const clock = testClock();

  beforeAll(async () => {
    // Grace window off: these tests are about strict rotation and reuse detection.
    server = await startServer({ db: kind, clock, env: { REFRESH_REUSE_INTERVAL: "0" } });
    client = authClient(connectTransport(server.baseUrl));
  });
  afterAll(() => server?.close());

  describe("Register", () => {
    it("when a user registers, then the e-mail is normalised and a usable token pair comes back", async () => {
      const u = uniqueUser();
      const res = await client.register({ ...u, email: `  ${u.email.toUpperCase()} ` });
      expect(res.user?.email).toBe(u.email);
      expect(res.user?.username).toBe(u.username);
      expect(res.user?.isActive).toBe(true);
      expect(res.user?.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.user?.createdAt).toBeDefined();
      expect(res.user?.lastLoginAt).toBeUndefined();
      expect(res.tokens?.tokenType).toBe("Bearer");
      expect(res.tokens?.expiresIn).toBeGreaterThan(1790);
      expect(res.tokens?.expiresIn).toBeLessThanOrEqual(1800);
      expect(res.tokens?.refreshExpiresIn).toBeGreaterThan(604_700);
      expect(res.tokens?.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const me = await client.getCurrentUser({}, bearer(res.tokens?.accessToken ?? ""));
      expect(me.user?.id).toBe(res.user?.id);
    });

    it("when the e-mail or username is taken in another case, then ALREADY_EXISTS / USER_ALREADY_EXISTS", async () => {
      const u = uniqueUser();
      await client.register(u);
      const byEmail = await connectFailure(client.register({ ...uniqueUser(), email: u.email.toUpperCase() }));
      expect(byEmail.code).toBe(Code.AlreadyExists);
      expect(byEmail.reason).toBe("USER_ALREADY_EXISTS");
      expect(byEmail.domain).toBe("auth.v1");
      const byName = await connectFailure(client.register({ ...uniqueUser(), username: u.username.toUpperCase() }));
      expect(byName.reason).toBe("USER_ALREADY_EXISTS");
    });

    it("when ten registrations of one e-mail race, then exactly one succeeds and the rest get USER_ALREADY_EXISTS", async () => {
      const email = uniqueUser().email;
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () => client.register({ ...uniqueUser(), email })),
      );
      const ok = results.filter((r) => r.status === "fulfilled");
      expect(ok).toHaveLength(1);
      for (const r of results) {
        if (r.status === "rejected") {
          const f = await connectFailure(Promise.reject(r.reason));
          expect(f.reason).toBe("USER_ALREADY_EXISTS");
          expect(f.code).toBe(Code.AlreadyExists);
        }
      }
    });

    it.each([
      ["an invalid e-mail", { email: "not-an-email" }, ["email"]],
      ["an empty e-mail", { email: "" }, ["email"]],
      ["a two-letter username", { username: "ab" }, ["username"]],
      ["a username with a space", { username: "bad name" }, ["username"]],
      ["a 33-character username", { username: "a".repeat(33) }, ["username"]],
      ["an 11-character password", { password: "a".repeat(11) }, ["password"]],
      ["a 257-character password", { password: "a".repeat(257) }, ["password"]],
      ["everything empty", { email: "", username: "", password: "" }, ["email", "username", "password"]],
    ])(
      "when registering with %s, then INVALID_ARGUMENT / VALIDATION_ERROR names the fields",
      async (_, patch, fields) => {
        const f = await connectFailure(client.register({ ...uniqueUser(), ...patch }));
        expect(f.code).toBe(Code.InvalidArgument);
        expect(f.reason).toBe("VALIDATION_ERROR");
        expect(f.fields.sort()).toEqual([...fields].sort());
      },
    );

    it("when the password has 12 characters and no character classes, then it is accepted (no composition rules)", async () => {
      // Lower-case letters only, yet hard to guess: the strength estimate accepts it.
      const res = await client.register({ ...uniqueUser(), password: "zqxwcevrbtny" });
      expect(res.user?.id).toBeTruthy();
    });

    it("when the password has 256 multi-byte characters, then it is accepted and verifies", async () => {
      const u = {
        ...uniqueUser(),
        password: Array.from({ length: 128 }, (_, i) => `${String.fromCodePoint(0x1f300 + i)}é`).join(""),
      };
      await client.register(u);
      const res = await client.login({ emailOrUsername: u.username, password: u.password });
      expect(res.user?.email).toBe(u.email);
    });
  });

  describe("Login", () => {
    it("when logging in by e-mail or by username in any case, then last_login_at is set", async () => {
      const u = uniqueUser();
      const reg = await client.register(u);
      const byName = await client.login({ emailOrUsername: u.username.toUpperCase(), password: u.password });
      expect(byName.user?.id).toBe(reg.user?.id);
      expect(byName.user?.lastLoginAt).toBeDefined();
      const byEmail = await client.login({ emailOrUsername: ` ${u.email.toUpperCase()} `, password: u.password });
      expect(byEmail.user?.id).toBe(reg.user?.id);
      expect(timestampDate(byEmail.user?.lastLoginAt ?? byName.user!.lastLoginAt!).getTime()).toBeGreaterThanOrEqual(
        timestampDate(byName.user!.lastLoginAt!).getTime(),
      );
      // Each login is a new session with its own tokens.
      expect(byEmail.tokens?.refreshToken).not.toBe(byName.tokens?.refreshToken);
    });

    it("when the password is wrong or the user unknown, then both get the same INVALID_CREDENTIALS answer", async () => {
      const u = uniqueUser();
      await client.register(u);
      const wrong = await connectFailure(client.login({ emailOrUsername: u.email, password: "wrong password!!" }));
      const unknown = await connectFailure(
        client.login({ emailOrUsername: "nobody@example.com", password: "wrong password!!" }),
      );
      for (const f of [wrong, unknown]) {
        expect(f.code).toBe(Code.Unauthenticated);
        expect(f.reason).toBe("INVALID_CREDENTIALS");
      }
      expect(wrong.message).toBe(unknown.message);
    });

    it("when two passwords differ only after the 72nd byte, then one does not verify for the other", async () => {
      // 72 random hex digits: a strong password that fills bcrypt's 72 bytes.
      const prefix = `${randomUUID()}${randomUUID()}`.replaceAll("-", "").slice(0, 72);
      const u = { ...uniqueUser(), password: `${prefix}-first` };
      await client.register(u);
      const f = await connectFailure(client.login({ emailOrUsername: u.username, password: `${prefix}-second` }));
      expect(f.reason).toBe("INVALID_CREDENTIALS");
      const ok = await client.login({ emailOrUsername: u.username, password: u.password });
      expect(ok.user?.username).toBe(u.username);
    });

    it("when the password is typed in another Unicode form, then NFKC normalisation lets it in", async () => {
      // "ﬁ" (U+FB01, a ligature) is NFKC-equivalent to "fi"; "Å" precomposed vs decomposed too.
      const u = { ...uniqueUser(), password: "ﬁne Å password" };
      await client.register(u);
      const res = await client.login({ emailOrUsername: u.username, password: "fine A\u030A password" });
      expect(res.user?.username).toBe(u.username);
    });

    it("when login fields are empty, then VALIDATION_ERROR names them", async () => {
      const f = await connectFailure(client.login({ emailOrUsername: "", password: "" }));
      expect(f.reason).toBe("VALIDATION_ERROR");
      expect(f.fields.sort()).toEqual(["email_or_username", "password"]);
    });
  });

  describe("Refresh and Logout", () => {
    it("when a refresh token is used, then it rotates and the old one stops working", async () => {
      const reg = await client.register(uniqueUser());
      const first = reg.tokens?.refreshToken ?? "";
      const next = await client.refresh({ refreshToken: first });
      expect(next.tokens?.refreshToken).not.toBe(first);
      expect(next.tokens?.accessToken).not.toBe(reg.tokens?.accessToken);
      expect(next.user?.id).toBe(reg.user?.id);
      const again = await connectFailure(client.refresh({ refreshToken: first }));
      expect(again.code).toBe(Code.Unauthenticated);
      expect(again.reason).toBe("TOKEN_REVOKED");
    });

    it("when a rotated token is presented again, then the whole family is revoked, the newest token and access token included", async () => {
      const reg = await client.register(uniqueUser());
      const t1 = reg.tokens?.refreshToken ?? "";
      const r2 = await client.refresh({ refreshToken: t1 });
      const t2 = r2.tokens?.refreshToken ?? "";
      await connectFailure(client.refresh({ refreshToken: t1 })); // the theft signal
      const f = await connectFailure(client.refresh({ refreshToken: t2 }));
      expect(f.reason).toBe("TOKEN_REVOKED");
      const me = await connectFailure(client.getCurrentUser({}, bearer(r2.tokens?.accessToken ?? "")));
      expect(me.reason).toBe("TOKEN_REVOKED");
    });

    it("when the same token is refreshed by ten concurrent calls, then at most one succeeds", async () => {
      const reg = await client.register(uniqueUser());
      const token = reg.tokens?.refreshToken ?? "";
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, () => client.refresh({ refreshToken: token })),
      );
      expect(results.filter((r) => r.status === "fulfilled").length).toBeLessThanOrEqual(1);
      for (const r of results) {
        if (r.status === "rejected")
          expect((await connectFailure(Promise.reject(r.reason))).reason).toBe("TOKEN_REVOKED");
      }
    });

    it("when logging out, then the session's refresh and access tokens stop working", async () => {
      const reg = await client.register(uniqueUser());
      await client.logout({ refreshToken: reg.tokens?.refreshToken ?? "" });
      const refresh = await connectFailure(client.refresh({ refreshToken: reg.tokens?.refreshToken ?? "" }));
      expect(refresh.reason).toBe("TOKEN_REVOKED");
      const me = await connectFailure(client.getCurrentUser({}, bearer(reg.tokens?.accessToken ?? "")));
      expect(me.code).toBe(Code.Unauthenticated);
      expect(me.reason).toBe("TOKEN_REVOKED");
      // Logging out twice is harmless.
      await client.logout({ refreshToken: reg.tokens?.refreshToken ?? "" });
    });

    it("when one session logs out, then the user's other sessions keep working", async () => {
      const u = uniqueUser();
      const a = await client.register(u);
      const b = await client.login({ emailOrUsername: u.username, password: u.password });
      await client.logout({ refreshToken: a.tokens?.refreshToken ?? "" });
      const me = await client.getCurrentUser({}, bearer(b.tokens?.accessToken ?? ""));
      expect(me.user?.id).toBe(a.user?.id);
      await client.refresh({ refreshToken: b.tokens?.refreshToken ?? "" });
    });

    it.each([
      ["an unknown token", "A".repeat(43), "INVALID_TOKEN"],
      ["a malformed token", "not a token", "INVALID_TOKEN"],
      ["an empty token", "", "VALIDATION_ERROR"],
    ])("when refreshing with %s, then %s", async (_, refreshToken, reason) => {
      expect((await connectFailure(client.refresh({ refreshToken }))).reason).toBe(reason);
      expect((await connectFailure(client.logout({ refreshToken }))).reason).toBe(reason);
    });

    it("when a refresh token is past its lifetime, then TOKEN_EXPIRED", async () => {
      const reg = await client.register(uniqueUser());
      clock.advance(604_800_000 + 1000);
      try {
        const f = await connectFailure(client.refresh({ refreshToken: reg.tokens?.refreshToken ?? "" }));
        expect(f.code).toBe(Code.Unauthenticated);
        expect(f.reason).toBe("TOKEN_EXPIRED");
      } finally {
        clock.advance(-(604_800_000 + 1000));
      }
    });
  });

  describe("GetCurrentUser and access tokens", () => {
    it("when the access token is missing, malformed, tampered with or a refresh token, then INVALID_TOKEN", async () => {
      const reg = await client.register(uniqueUser());
      const access = reg.tokens?.accessToken ?? "";
      const [h, p, s] = access.split(".");
      const tampered = `${h}.${p}.${s?.startsWith("A") ? "B" : "A"}${s?.slice(1)}`;
      const cases = [
        () => client.getCurrentUser({}),
        () => client.getCurrentUser({}, { headers: { authorization: access } }), // no "Bearer"
        () => client.getCurrentUser({}, bearer("abc.def.ghi")),
        () => client.getCurrentUser({}, bearer(tampered)),
        () => client.getCurrentUser({}, bearer(reg.tokens?.refreshToken ?? "")),
      ];
      for (const call of cases) {
        const f = await connectFailure(call());
        expect(f.code).toBe(Code.Unauthenticated);
        expect(f.reason).toBe("INVALID_TOKEN");
      }
    });

    it("when the access token has expired, then TOKEN_EXPIRED", async () => {
      const reg = await client.register(uniqueUser());
      clock.advance(1801_000);
      try {
        const f = await connectFailure(client.getCurrentUser({}, bearer(reg.tokens?.accessToken ?? "")));
        expect(f.reason).toBe("TOKEN_EXPIRED");
      } finally {
        clock.advance(-1801_000);
      }
    });

    it("when another service verifies an access token offline with the JWKS, then the claims and header are those of the wire contract", async () => {
      const reg = await client.register(uniqueUser());
      const token = reg.tokens?.accessToken ?? "";
      const header = decodeProtectedHeader(token);
      expect(header).toMatchObject({ alg: "EdDSA", typ: "at+jwt" });
      expect(typeof header.kid).toBe("string");
      const jwks = createRemoteJWKSet(new URL(`${server.baseUrl}/.well-known/jwks.json`));
      const { payload } = await jwtVerify(token, jwks, { issuer: "warden", audience: "warden", typ: "at+jwt" });
      expect(payload.sub).toBe(reg.user?.id);
      expect(typeof payload.sid).toBe("string");
      expect(typeof payload.jti).toBe("string");
      expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(1800);
    });

    it("when a user is deactivated, then login, refresh and GetCurrentUser answer PERMISSION_DENIED / USER_INACTIVE", async () => {
      const u = uniqueUser();
      const reg = await client.register(u);
      await server.app.services.auth.setActive(reg.user?.id ?? "", false);
      const calls = [
        () => client.login({ emailOrUsername: u.username, password: u.password }),
        () => client.refresh({ refreshToken: reg.tokens?.refreshToken ?? "" }),
        () => client.getCurrentUser({}, bearer(reg.tokens?.accessToken ?? "")),
      ];
      for (const call of calls) {
        const f = await connectFailure(call());
        expect(f.code).toBe(Code.PermissionDenied);
        expect(f.reason).toBe("USER_INACTIVE");
      }
      // A wrong password still says only "invalid credentials".
      const wrong = await connectFailure(client.login({ emailOrUsername: u.username, password: "wrong password!!" }));
      expect(wrong.reason).toBe("INVALID_CREDENTIALS");
    });
  });

  describe("request ids and protocols", () => {
    it("when a client sends a well-formed x-request-id, then it is echoed in the header and in ErrorInfo", async () => {
      const f = await connectFailure(
        client.login(
          { emailOrUsername: "nobody", password: "whatever-whatever" },
          { headers: { "x-request-id": "trace-42.a_b" } },
        ),
      );
      expect(f.requestId).toBe("trace-42.a_b");
      expect(f.error.metadata.get("x-request-id")).toBe("trace-42.a_b");
      let seen: string | null = null;
      await client.register(uniqueUser(), {
        headers: { "x-request-id": "ok-1" },
        onHeader: (h) => (seen = h.get("x-request-id")),
      });
      expect(seen).toBe("ok-1");
    });

    it("when the x-request-id is malformed or too long, then a fresh UUID replaces it", async () => {
      for (const bad of ["has space", "x".repeat(129), "semi;colon"]) {
        const res = await fetch(`${server.baseUrl}/auth.v1.AuthService/GetCurrentUser`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-request-id": bad },
          body: "{}",
        });
        const id = res.headers.get("x-request-id");
        expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        const body = (await res.json()) as { details: Array<{ debug: { metadata: { request_id: string } } }> };
        expect(body.details[0]?.debug.metadata.request_id).toBe(id);
      }
    });

    it("when plain Connect JSON is sent with snake_case fields, then the answer uses lowerCamelCase and omits an unset last_login_at", async () => {
      const u = uniqueUser();
      const res = await fetch(`${server.baseUrl}/auth.v1.AuthService/Register`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: u.email, username: u.username, password: u.password }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-request-id")).toBeTruthy();
      const body = (await res.json()) as { user: Record<string, unknown>; tokens: Record<string, unknown> };
      expect(body.user).toHaveProperty("isActive", true);
      expect(body.user).not.toHaveProperty("lastLoginAt");
      expect(body.tokens).toHaveProperty("tokenType", "Bearer");
      const login = await fetch(`${server.baseUrl}/auth.v1.AuthService/Login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email_or_username: u.username, password: u.password }),
      });
      expect(login.status).toBe(200);
    });

    it("when the call fails over Connect JSON, then the HTTP status follows the code and no internals leak", async () => {
      const res = await fetch(`${server.baseUrl}/auth.v1.AuthService/Login`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ emailOrUsername: "nobody", password: "whatever-whatever" }),
      });
      expect(res.status).toBe(401);
      const text = await res.text();
      expect(text).not.toMatch(/at .*\.ts:\d+|select |insert |stack/i);
    });

    it("when the same flow runs over gRPC, gRPC-Web and Connect binary, then each protocol works", async () => {
      for (const transport of [
        grpcTransport(server.baseUrl),
        grpcWebTransport(server.baseUrl),
        connectTransport(server.baseUrl, true),
      ]) {
        const c = authClient(transport);
        const u = uniqueUser();
        const reg = await c.register(u);
        const me = await c.getCurrentUser({}, bearer(reg.tokens?.accessToken ?? ""));
        expect(me.user?.email).toBe(u.email);
        const f = await connectFailure(c.login({ emailOrUsername: u.email, password: "wrong password!!" }));
        expect(f.reason).toBe("INVALID_CREDENTIALS");
        expect(f.requestId).toBeTruthy();
      }
    });

    it("when a plain @grpc/grpc-js client calls over HTTP/2, then it gets data, timestamps, metadata and decodable error details", async () => {
      const g = grpcJsClient(server.port);
      try {
        const u = uniqueUser();
        const reg = await grpcJsCall<{
          user: { id: string; created_at: { seconds: string } };
          tokens: { access_token: string; token_type: string };
        }>(g, "Register", u);
        expect(reg.error).toBeUndefined();
        expect(reg.response?.tokens.token_type).toBe("Bearer");
        expect(Number(reg.response?.user.created_at.seconds)).toBeGreaterThan(1_700_000_000);
        expect(reg.headers?.get("x-request-id")[0]).toBeTruthy();

        const md = new grpc.Metadata();
        md.set("authorization", `Bearer ${reg.response?.tokens.access_token}`);
        const me = await grpcJsCall<{ user: { id: string; last_login_at?: unknown } }>(g, "GetCurrentUser", {}, md);
        expect(me.response?.user.id).toBe(reg.response?.user.id);
        expect(me.response?.user.last_login_at ?? null).toBeNull();

        const dup = await grpcJsCall(
          g,
          "Register",
          u,
          (() => {
            const m = new grpc.Metadata();
            m.set("x-request-id", "grpc-js-dup-1");
            return m;
          })(),
        );
        const f = grpcJsFailure(dup.error);
        expect(f.code).toBe(Code.AlreadyExists);
        expect(f.reason).toBe("USER_ALREADY_EXISTS");
        expect(f.domain).toBe("auth.v1");
        expect(f.requestId).toBe("grpc-js-dup-1");

        const bad = grpcJsFailure(
          (await grpcJsCall(g, "Register", { email: "x", username: "y", password: "z" })).error,
        );
        expect(bad.code).toBe(Code.InvalidArgument);
        expect(bad.fields.sort()).toEqual(["email", "password", "username"]);
      } finally {
        g.close();
      }
    });
  });

  it("when the service has handled all of the above, then no log line holds a password or token", () => {
    const text = server.rawLogs.join("\n");
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./); // no JWT
    expect(text).not.toContain("$2b$"); // no bcrypt hash
    expect(text).not.toMatch(/pw-[0-9a-f-]{36}/); // no test password
  });
});
