import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import type { ConnectRouter } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AdminService } from "../../gen/auth/v1/admin_pb.js";
import { AuthService } from "../../gen/auth/v1/auth_pb.js";
import { createLogger } from "../../src/logger.js";
import { createFront } from "../../src/transport/front.js";

/**
 * Path variables and query parameters through the REST route over HTTP,
 * before AdminService exists: stand-in handlers answer with what the
 * request message held, so each test sees what the transcoding produced.
 */
describe("REST path templates and query parameters", () => {
  let server: Server;
  let base: string;
  const deleted: string[] = [];

  beforeAll(async () => {
    const routes = (router: ConnectRouter) => {
      router.service(AdminService, {
        listUsers: (req) => ({
          users: [],
          nextPageToken: JSON.stringify({ pageSize: req.pageSize, pageToken: req.pageToken, query: req.query }),
        }),
        getUser: (req) => ({ user: { id: req.userId } }),
        setUserRoles: (req) => ({ user: { id: req.userId, roles: req.roles } }),
        deleteUser: (req) => {
          deleted.push(req.userId);
          return {};
        },
      });
      router.service(AuthService, { getCurrentUser: () => ({ user: { id: "me" } }) });
    };
    const front = createFront({
      routes,
      restServices: [AuthService, AdminService],
      httpRoutes: [],
      http: { maxBodyBytes: 4096, corsOrigins: [], trustedProxies: [] },
      logger: createLogger("error", new PassThrough()),
    });
    server = createServer(front.handler);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server?.close(resolve)));

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(base + path, {
      method,
      headers: {
        "x-request-id": "rid-templates",
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return {
      status: res.status,
      allow: res.headers.get("allow"),
      json: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
    };
  };

  it("when GET /admin/users has page_size, page_token and query, then ListUsers receives them converted", async () => {
    const { status, json } = await call("GET", "/admin/users?page_size=5&page_token=t%3D%3D&query=Al%20ice");
    expect(status).toBe(200);
    expect(JSON.parse(String(json.next_page_token))).toEqual({ pageSize: 5, pageToken: "t==", query: "Al ice" });
  });

  it("when a query parameter is not an int32 or unknown, then 400 VALIDATION_ERROR names it", async () => {
    const bad = await call("GET", "/admin/users?page_size=3000000000");
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({
      error_code: "VALIDATION_ERROR",
      request_id: "rid-templates",
      field_violations: [{ field: "page_size", description: "must be an int32 in decimal" }],
    });
    const unknown = await call("GET", "/admin/users?pagesize=5");
    expect(unknown.status).toBe(400);
    expect(unknown.json.field_violations).toEqual([{ field: "pagesize", description: "unknown query parameter" }]);
    expect((await call("GET", "/users/me?debug=1")).status).toBe(400);
  });

  it("when the user id in the path holds an encoded slash or space, then GetUser receives it decoded", async () => {
    const { status, json } = await call("GET", "/admin/users/a%2Fb%20c");
    expect(status).toBe(200);
    expect(json).toEqual({ user: expect.objectContaining({ id: "a/b c" }) });
  });

  it("when PUT /admin/users/{user_id}/roles has a body, then the roles come from the body and the id from the path", async () => {
    const { status, json } = await call("PUT", "/admin/users/u1/roles", { roles: ["admin", "ops"], user_id: "u2" });
    expect(status).toBe(200);
    expect(json).toEqual({ user: expect.objectContaining({ id: "u1", roles: ["admin", "ops"] }) });
    const query = await call("PUT", "/admin/users/u1/roles?roles=admin", { roles: [] });
    expect(query.status).toBe(400);
    expect(query.json.field_violations).toEqual([
      { field: "roles", description: "unknown query parameter: this route takes none" },
    ]);
  });

  it("when DELETE /admin/users/{user_id} is called, then DeleteUser runs for that id and answers {}", async () => {
    const { status, json } = await call("DELETE", "/admin/users/u-9");
    expect(status).toBe(200);
    expect(json).toEqual({});
    expect(deleted).toContain("u-9");
  });

  it("when a template path is called with another method or an empty segment, then 405 with Allow, or no route", async () => {
    const patch = await call("PATCH", "/admin/users/u1");
    expect(patch.status).toBe(405);
    expect(patch.allow).toBe("GET, DELETE");
    expect((await call("GET", "/admin/users/")).status).toBe(404);
    expect((await call("GET", "/admin/users/u1/unknown")).status).toBe(404);
  });
});
