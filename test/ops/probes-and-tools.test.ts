/**
 * What operators' tools see: a Kubernetes-style gRPC health probe (grpc-js,
 * from the .proto), buf curl through server reflection with no .proto at
 * hand, GET /health, Prometheus' scrape of /metrics, and browsers' CORS
 * preflights.
 */

import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectError, createClient } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ServerReflection, type ServerReflectionResponse } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import {
  authClient,
  connectTransport,
  grpcJsCall,
  grpcJsClient,
  grpcJsServerStream,
  grpcTransport,
} from "../helpers/clients.js";
import { grpcJsFailure } from "../helpers/errors.js";
import { healthClient, Status, watchHealth } from "../helpers/health.js";
import { metricValue } from "../helpers/metrics.js";
import { startServer, type TestServer, uniqueUser } from "../helpers/server.js";
import { waitFor } from "../helpers/wait.js";

const BUF = join(import.meta.dirname, "..", "..", "node_modules", ".bin", "buf");
const run = promisify(execFile);
const bufCurl = async (...args: string[]) =>
  (await run(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { timeout: 30_000 })).stdout;

const HEALTH_PROTO = "grpc/health/v1/health.proto";

describe("operations surface", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({
      db: "sqlite",
      env: { CORS_ORIGINS: "http://localhost:3000", REFRESH_REUSE_INTERVAL: "0" },
    });
  });
  afterAll(() => server?.close());

  describe("grpc.health.v1 through @grpc/grpc-js, as a Kubernetes gRPC probe", () => {
    it("when the server and AuthService are checked, then both are SERVING, and an unknown service is NOT_FOUND", async () => {
      const client = grpcJsClient(server.port, "grpc.health.v1.Health", HEALTH_PROTO);
      try {
        for (const service of ["", "auth.v1.AuthService"]) {
          const res = await grpcJsCall<{ status: string }>(client, "Check", { service });
          expect(res.error).toBeUndefined();
          expect(res.response?.status).toBe("SERVING");
        }
        const unknown = await grpcJsCall(client, "Check", { service: "no.such.Service" });
        expect(unknown.error?.code).toBe(grpc.status.NOT_FOUND);
        expect(grpcJsFailure(unknown.error).reason).toBe("NOT_FOUND");
        const list = await grpcJsCall<{ statuses: Record<string, { status: string }> }>(client, "List", {});
        expect(list.response?.statuses).toEqual({
          "": { status: "SERVING" },
          "auth.v1.AccountService": { status: "SERVING" },
          "auth.v1.AuthService": { status: "SERVING" },
          "auth.v1.AdminService": { status: "SERVING" },
          "auth.v1.TokenService": { status: "SERVING" },
          "envoy.service.auth.v3.Authorization": { status: "SERVING" },
        });
      } finally {
        client.close();
      }
    });

    it("when a known service is watched, then the stream opens with SERVING; for an unknown one, with SERVICE_UNKNOWN", async () => {
      const client = grpcJsClient(server.port, "grpc.health.v1.Health", HEALTH_PROTO);
      const first = (service: string) =>
        new Promise<string>((resolve, reject) => {
          const call = grpcJsServerStream<{ status: string }>(client, "Watch", { service });
          call.once("data", (m: { status: string }) => {
            resolve(m.status);
            call.cancel();
          });
          call.on("error", (e: grpc.ServiceError) => e.code !== grpc.status.CANCELLED && reject(e));
        });
      try {
        expect(await first("auth.v1.AuthService")).toBe("SERVING");
        expect(await first("no.such.Service")).toBe("SERVICE_UNKNOWN");
      } finally {
        client.close();
      }
    });
  });

  describe("server reflection through buf curl, with no .proto files", () => {
    it("when services and methods are listed, then every served service and each AuthService method appear, over v1 and v1alpha", async () => {
      const services = (await bufCurl("--list-services", server.baseUrl)).split("\n").filter(Boolean);
      expect(services.sort()).toEqual([
        "auth.v1.AccountService",
        "auth.v1.AdminService",
        "auth.v1.AuthService",
        "auth.v1.TokenService",
        "envoy.service.auth.v3.Authorization",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      ]);
      const methods = await bufCurl("--list-methods", server.baseUrl);
      expect(
        methods
          .split("\n")
          .filter((m) => m.startsWith("auth.v1.AuthService/"))
          .sort(),
      ).toEqual(
        ["GetCurrentUser", "Login", "Logout", "Refresh", "Register", "VerifyMfa"].map(
          (m) => `auth.v1.AuthService/${m}`,
        ),
      );
      expect(methods).toContain("envoy.service.auth.v3.Authorization/Check");
      expect(methods).toContain("auth.v1.TokenService/IntrospectToken");
      const alpha = await bufCurl("--reflect-protocol", "grpc-v1alpha", "--list-methods", server.baseUrl);
      expect(alpha).toContain("grpc.health.v1.Health/Watch");
    });

    it("when reflection is asked for a method, a file and an unknown symbol, then it sends each file with its imports, and NOT_FOUND", async () => {
      const client = createClient(ServerReflection, grpcTransport(server.baseUrl));
      async function* requests() {
        yield { messageRequest: { case: "fileContainingSymbol" as const, value: "auth.v1.AuthService.Login" } };
        yield { messageRequest: { case: "fileByFilename" as const, value: "grpc/health/v1/health.proto" } };
        yield { messageRequest: { case: "fileContainingSymbol" as const, value: "no.such.Message" } };
      }
      const answers: Array<ServerReflectionResponse["messageResponse"]> = [];
      for await (const res of client.serverReflectionInfo(requests())) answers.push(res.messageResponse);
      const names = (i: number) => {
        const a = answers[i];
        return a?.case === "fileDescriptorResponse"
          ? a.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name)
          : [];
      };
      expect(names(0)[0]).toBe("auth/v1/auth.proto");
      expect(names(0)).toEqual(
        expect.arrayContaining([
          "google/api/annotations.proto",
          "google/protobuf/descriptor.proto",
          "google/protobuf/timestamp.proto",
        ]),
      );
      expect(names(1)).toEqual(["grpc/health/v1/health.proto"]);
      expect(answers[2]).toMatchObject({ case: "errorResponse", value: { errorCode: Code.NotFound } });
    });

    it("when buf curl calls Register with a JSON body, then reflection supplies the schema and the user comes back", async () => {
      const u = uniqueUser("buf");
      const out = JSON.parse(
        await bufCurl("-d", JSON.stringify(u), `${server.baseUrl}/auth.v1.AuthService/Register`),
      ) as {
        user: { email: string };
        tokens: { tokenType: string };
      };
      expect(out.user.email).toBe(u.email);
      expect(out.tokens.tokenType).toBe("Bearer");
    });

    it("when a service is unknown, then reflection cannot describe it and buf curl says so", async () => {
      await expect(bufCurl("-d", "{}", `${server.baseUrl}/no.such.Service/Nothing`)).rejects.toThrow(
        /failed to find service named "no.such.Service"/,
      );
    });
  });

  describe("HTTP endpoints", () => {
    it("when GET /health is asked while serving, then it answers 200 healthy", async () => {
      const res = await fetch(`${server.baseUrl}/health`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: "healthy" });
    });

    it("when calls, logins and registrations happen, then /metrics counts them by procedure, code and outcome", async () => {
      const client = authClient(connectTransport(server.baseUrl));
      const u = uniqueUser("metrics");
      await client.register(u);
      await client.login({ emailOrUsername: u.email, password: u.password });
      const bad = await client
        .login({ emailOrUsername: u.email, password: "wrong-password-123" })
        .catch((e: unknown) => e);
      expect((bad as ConnectError).code).toBe(Code.Unauthenticated);

      const res = await fetch(`${server.baseUrl}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
      const text = await res.text();
      expect(text).toContain(
        'grpc_server_handled_total{grpc_service="auth.v1.AuthService",grpc_method="Login",grpc_code="OK"} 1',
      );
      expect(text).toContain(
        'grpc_server_handled_total{grpc_service="auth.v1.AuthService",grpc_method="Login",grpc_code="UNAUTHENTICATED"} 1',
      );
      expect(text).toMatch(
        /grpc_server_handling_seconds_count\{grpc_service="auth\.v1\.AuthService",grpc_method="Register"\} [1-9]/,
      );
      expect(text).toContain('warden_logins_total{outcome="success",reason=""} 1');
      expect(text).toContain('warden_logins_total{outcome="failure",reason="INVALID_CREDENTIALS"} 1');
      expect(text).toMatch(/warden_registrations_total\{outcome="success",reason=""\} [1-9]/);
      expect(metricValue(text, "warden_refresh_reuse_detected_total")).toBe(0);
      expect(metricValue(text, "warden_password_hashes_active")).toBe(0);
      expect(metricValue(text, "warden_password_hashes_queued")).toBe(0);
      expect(metricValue(text, "warden_db_circuit_state")).toBe(0);
      expect(text).toContain("process_cpu_user_seconds_total");
      expect(text).toContain("nodejs_eventloop_lag_seconds");
    });

    it("when a rotated refresh token is reused, then the reuse detection counter goes up", async () => {
      const client = authClient(connectTransport(server.baseUrl));
      const reg = await client.register(uniqueUser("reuse"));
      const token = reg.tokens?.refreshToken ?? "";
      await client.refresh({ refreshToken: token });
      // With no grace window, presenting the rotated token again is reuse.
      const scrape = async () =>
        metricValue(await (await fetch(`${server.baseUrl}/metrics`)).text(), "warden_refresh_reuse_detected_total");
      const before = (await scrape()) ?? -1;
      const replay = await client.refresh({ refreshToken: token }).catch((e: unknown) => e);
      expect((replay as ConnectError).code).toBe(Code.Unauthenticated);
      expect(await scrape()).toBe(before + 1);
    });
  });

  describe("CORS preflights", () => {
    const preflight = (origin: string) =>
      fetch(`${server.baseUrl}/auth.v1.AuthService/Login`, {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "content-type,connect-protocol-version",
        },
      });

    it("when an allowed origin sends a preflight, then it gets the CORS headers, x-request-id and grpc-status exposed", async () => {
      const res = await preflight("http://localhost:3000");
      expect(res.status).toBe(204);
      expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:3000");
      expect(res.headers.get("access-control-allow-methods")).toContain("POST");
      const allowed = (res.headers.get("access-control-allow-headers") ?? "").toLowerCase();
      for (const h of ["content-type", "connect-protocol-version", "authorization", "x-request-id"])
        expect(allowed).toContain(h);
      const exposed = (res.headers.get("access-control-expose-headers") ?? "").toLowerCase();
      for (const h of ["x-request-id", "grpc-status", "grpc-message"]) expect(exposed).toContain(h);
    });

    it("when a disallowed origin sends a preflight, then it gets no CORS headers at all", async () => {
      const res = await preflight("http://evil.example");
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      expect(res.headers.get("access-control-allow-methods")).toBeNull();
      expect(res.headers.get("access-control-allow-headers")).toBeNull();
      expect(res.headers.get("access-control-expose-headers")).toBeNull();
    });
  });

  it("when a Watch stream is open and the app shuts down, then it reports NOT_SERVING and ends", async () => {
    const own = await startServer({ db: "sqlite" });
    const watch = watchHealth(own.baseUrl);
    await waitFor("first status", () => watch.statuses.length > 0);
    await own.close();
    const end = await watch.ended;
    expect(end.error).toBeUndefined();
    expect(watch.statuses).toEqual([Status.SERVING, Status.NOT_SERVING]);
    await expect(healthClient(own.baseUrl).check({ service: "" })).rejects.toMatchObject({ code: Code.Unavailable });
  });
});
