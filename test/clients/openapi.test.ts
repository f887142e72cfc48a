import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/auth/v1/auth_pb.js";
import { httpRulesOf } from "../../src/transport/rest/http-rules.js";
import { startServer, type TestServer } from "../helpers/server.js";

interface OpenApi {
  openapi: string;
  paths: Record<
    string,
    Record<string, { security?: unknown[]; description?: string; responses: Record<string, unknown> }>
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
    const fromProto = httpRulesOf(AuthService)
      .map((r) => `${r.verb} ${r.path}`)
      .sort();
    const fromDoc = Object.entries(doc.paths)
      .flatMap(([path, ops]) => Object.keys(ops).map((verb) => `${verb.toUpperCase()} ${path}`))
      .sort();
    expect(fromDoc).toEqual(fromProto);
    expect(fromDoc).toEqual([
      "GET /users/me",
      "POST /auth/login",
      "POST /auth/logout",
      "POST /auth/refresh",
      "POST /auth/register",
    ]);
  });

  it("when /users/me is documented, then it needs the bearer scheme and the others do not", () => {
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.paths["/users/me"]?.get?.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths["/auth/login"]?.post?.security).toBeUndefined();
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
