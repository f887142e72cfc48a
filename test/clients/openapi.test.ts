import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountService } from "../../gen/auth/v1/account_pb.js";
import { AdminService } from "../../gen/auth/v1/admin_pb.js";
import { AuthService } from "../../gen/auth/v1/auth_pb.js";
import { TokenService } from "../../gen/auth/v1/token_pb.js";
import { httpRulesOf } from "../../src/transport/rest/http-rules.js";
import { needsBearer } from "../../tools/openapi/document.js";
import { startServer, type TestServer } from "../helpers/server.js";

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  description?: string;
  schema: Record<string, unknown>;
}
interface OpenApi {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        security?: unknown[];
        description?: string;
        parameters?: Parameter[];
        requestBody?: { content: Record<string, { schema: { $ref?: string; properties?: Record<string, unknown> } }> };
        responses: Record<string, unknown>;
      }
    >
  >;
  components: {
    schemas: Record<string, { properties?: Record<string, { description?: string }> }>;
    securitySchemes: Record<string, unknown>;
  };
}

describe("OpenAPI document and Swagger UI", () => {
  let server: TestServer;
  let doc: OpenApi;
  beforeAll(async () => {
    server = await startServer();
    doc = (await (await fetch(`${server.baseUrl}/openapi.json`)).json()) as OpenApi;
  });
  afterAll(() => server?.close());

  it("when /openapi.json is fetched, then it validates as OpenAPI 3", async () => {
    // As JSON text (with newlines, so the validator parses it rather than reading a file of that name).
    const result = await new Validator().validate(JSON.stringify(doc, null, 2));
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toMatch(/^3\./);
  });

  it("when the document is compared with the annotations, then it lists every REST route and no other", () => {
    const fromProto = httpRulesOf(AuthService, AccountService, AdminService, TokenService)
      .map((r) => `${r.verb} ${r.path}`)
      .sort();
    const fromDoc = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((verb) => `${verb.toUpperCase()} ${path}`))
      .sort();
    expect(fromDoc).toEqual(fromProto);
    expect(fromDoc).toEqual(
      expect.arrayContaining([
        "GET /users/me",
        "POST /auth/login",
        "POST /auth/logout",
        "POST /auth/refresh",
        "POST /auth/register",
        "POST /auth/mfa/verify",
        "DELETE /account/sessions/{session_id}",
        "GET /admin/users",
        "PUT /admin/users/{user_id}/roles",
        "POST /tokens/introspect",
      ]),
    );
    expect(fromDoc).toHaveLength(29);
  });

  it("when routes are documented, then those whose comment says Auth: none have no bearer scheme and the others have it", () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    const bearer = [
      ["/users/me", "get"],
      ["/account/sessions", "get"],
      ["/admin/users/{user_id}", "delete"],
    ] as const;
    for (const [path, verb] of bearer) expect(doc.paths[path]?.[verb]?.security, path).toEqual([{ bearerAuth: [] }]);
    const open = [
      ["/auth/login", "post"],
      ["/auth/mfa/verify", "post"],
      ["/account/password/reset-request", "post"],
      ["/account/email/verify", "post"],
      ["/tokens/introspect", "post"],
    ] as const;
    for (const [path, verb] of open) expect(doc.paths[path]?.[verb]?.security, path).toBeUndefined();
  });

  it("when a route has a path variable, then it is a required path parameter and not part of the body", () => {
    const user = { name: "user_id", in: "path", required: true, schema: { type: "string" } };
    expect(doc.paths["/admin/users/{user_id}"]?.get?.parameters).toEqual([expect.objectContaining(user)]);
    const roles = doc.paths["/admin/users/{user_id}/roles"]?.put;
    expect(roles?.parameters).toEqual([expect.objectContaining(user)]);
    const body = roles?.requestBody?.content["application/json"]?.schema;
    expect(Object.keys(body?.properties ?? {})).toEqual(["roles"]);
    expect(doc.paths["/account/sessions/{session_id}"]?.delete?.parameters).toEqual([
      expect.objectContaining({ name: "session_id", in: "path", required: true }),
    ]);
  });

  it("when a GET route's request has fields not in the path, then they are typed query parameters", () => {
    const params = doc.paths["/admin/users"]?.get?.parameters ?? [];
    expect(params.map((p) => [p.name, p.in])).toEqual([
      ["page_size", "query"],
      ["page_token", "query"],
      ["query", "query"],
    ]);
    expect(params[0]?.schema).toEqual({ type: "integer", format: "int32" });
    expect(params[0]?.description).toContain("0 means 50");
    expect(params[0]?.required).toBeUndefined();
    expect(doc.paths["/admin/users"]?.get?.requestBody).toBeUndefined();
    expect(doc.paths["/users/me"]?.get?.parameters).toBeUndefined();
  });

  it("when an RPC's comment has no Auth: line, then the generator refuses it", () => {
    // The descriptors embedded in gen/ carry no comments at all.
    expect(() => needsBearer(AuthService.method.login)).toThrow(
      'auth.v1.AuthService.Login: the proto comment needs an "Auth:" line',
    );
  });

  it("when a schema is read, then proto field names and proto comments are there", () => {
    const login = doc.components.schemas["auth.v1.LoginRequest"];
    expect(login?.properties?.email_or_username?.description).toContain("e-mail address or the username");
    expect(login?.properties?.email_or_username?.description).toContain("emailOrUsername");
    const pair = doc.components.schemas["auth.v1.TokenPair"];
    expect(Object.keys(pair?.properties ?? {})).toEqual([
      "access_token",
      "refresh_token",
      "token_type",
      "expires_in",
      "refresh_expires_in",
    ]);
    expect(doc.paths["/auth/refresh"]?.post?.description).toContain("rotates a refresh token");
  });

  it("when errors are documented, then the error body schema and the table's statuses are there", () => {
    expect(Object.keys(doc.components.schemas.Error?.properties ?? {})).toEqual(
      expect.arrayContaining(["error_code", "detail", "timestamp", "request_id"]),
    );
    expect(Object.keys(doc.paths["/auth/login"]?.post?.responses ?? {})).toEqual(
      expect.arrayContaining(["200", "400", "401", "403", "409", "429", "500", "503"]),
    );
  });

  it("when /docs is loaded, then it is HTML whose assets are all local and served", async () => {
    const res = await fetch(`${server.baseUrl}/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();
    const refs = [...html.matchAll(/\b(?:src|href)="([^"]+)"/g)].map((m) => m[1] ?? "");
    expect(refs.length).toBeGreaterThanOrEqual(4);
    for (const ref of refs) {
      const url = new URL(ref, `${server.baseUrl}/docs`);
      expect(url.origin, ref).toBe(server.baseUrl);
      const asset = await fetch(url);
      expect(asset.status, ref).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, ref).toBeGreaterThan(0);
    }
    const init = await (await fetch(`${server.baseUrl}/docs/swagger-initializer.js`)).text();
    expect(init).toContain('"/openapi.json"');
  });

  it("when a file outside the allow-list is asked for under /docs, then 404", async () => {
    for (const path of [
      "/docs/package.json",
      "/docs/../package.json",
      "/docs/%2e%2e/package.json",
      "/docs/swagger-ui.js.map",
    ]) {
      const res = await fetch(`${server.baseUrl}${path}`);
      expect(res.status, path).toBe(404);
    }
  });
});
