import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { PassThrough } from "node:stream";
import type { ConnectRouter } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/auth/v1/auth_pb.js";
import { DomainError, serviceUnavailable } from "../../src/domain/errors.js";
import { createLogger } from "../../src/logger.js";
import { createInProcessTransport } from "../../src/rest/in-process-transport.js";
import { createRestRoute } from "../../src/rest/rest-route.js";
import { callStorage } from "../../src/transport/call-context.js";
import { createErrorInterceptor } from "../../src/transport/interceptors/errors.js";

/**
 * The statuses a live server cannot easily be driven into (429, 503, 500),
 * through the REST route with the real error interceptor and handlers that fail.
 */
describe("REST error statuses from the error table", () => {
  let server: Server;
  let base: string;
  const logs: string[] = [];

  beforeAll(async () => {
    const stream = new PassThrough();
    stream.on("data", (c: Buffer) => logs.push(c.toString("utf8")));
    const routes = (router: ConnectRouter) => {
      router.service(AuthService, {
        login: () => {
          throw new DomainError("RATE_LIMITED", "too many attempts, try again later", { retryAfterMs: 2500 });
        },
        register: () => {
          throw serviceUnavailable(new Error("connect ECONNREFUSED 127.0.0.1:5432"));
        },
        refresh: () => {
          throw new Error("select * from sessions where token = 'secret'");
        },
      });
    };
    const route = createRestRoute({
      services: [AuthService],
      transport: createInProcessTransport(routes, [createErrorInterceptor(createLogger("debug", stream))]),
      maxBodyBytes: 4096,
    });
    server = createServer((req, res) => {
      const call = { requestId: "rid-errors", clientAddress: "127.0.0.1", startedAt: performance.now() };
      res.setHeader("x-request-id", call.requestId);
      void callStorage.run(call, async () => {
        if (!(await route(req, res, call.requestId))) res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server?.close(resolve)));

  const post = async (path: string, body: unknown) => {
    const res = await fetch(base + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { res, json: (await res.json()) as Record<string, unknown> };
  };

  it("when the handler is rate limited, then 429 RATE_LIMITED with Retry-After", async () => {
    const { res, json } = await post("/auth/login", { email_or_username: "a", password: "b" });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("3");
    expect(json).toMatchObject({ error_code: "RATE_LIMITED", request_id: "rid-errors" });
  });

  it("when the database is down, then 503 SERVICE_UNAVAILABLE with a generic message", async () => {
    const { res, json } = await post("/auth/register", {
      email: "a@example.com",
      username: "abc",
      password: "x".repeat(20),
    });
    expect(res.status).toBe(503);
    expect(json.error_code).toBe("SERVICE_UNAVAILABLE");
    expect(JSON.stringify(json)).not.toContain("5432");
  });

  it("when the handler fails unexpectedly, then 500 INTERNAL_ERROR without the cause, which only the log sees", async () => {
    const { res, json } = await post("/auth/refresh", { refresh_token: "t" });
    expect(res.status).toBe(500);
    expect(json).toMatchObject({ error_code: "INTERNAL_ERROR", detail: "internal error", request_id: "rid-errors" });
    expect(JSON.stringify(json)).not.toMatch(/select|secret/i);
    expect(logs.join("")).toContain('"reason":"INTERNAL_ERROR"');
  });
});
