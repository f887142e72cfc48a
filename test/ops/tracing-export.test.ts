/**
 * Export to a real OTLP/HTTP endpoint started by the test, configured only
 * through the standard OTEL_* variables: over http/json and http/protobuf,
 * with the collector's headers, and flushed at shutdown by a real process.
 */

import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { authClient, connectTransport } from "../helpers/clients.js";
import { type OtlpReceiver, startOtlpReceiver } from "../helpers/otlp.js";
import { type ServerProcess, spawnServer, startServer, uniqueUser } from "../helpers/server.js";
import { waitFor } from "../helpers/wait.js";

/** The OTLP SpanKind of a server span (OTLP numbers kinds from 1 = INTERNAL). */
const OTLP_SERVER = 2;

const caller = () => {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
};

describe("export over OTLP/HTTP, configured by OTEL_* only", () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(() => receiver?.close());

  it.each([
    ["http/json", "application/json"],
    ["http/protobuf", "application/x-protobuf"],
  ])(
    "when OTEL_EXPORTER_OTLP_PROTOCOL is %s, then the call's spans reach the endpoint as %s, with the service name, the collector's headers and the RPC attributes",
    async (protocol, contentType) => {
      const serviceName = `warden-${protocol.replace("/", "-")}`;
      const server = await startServer({
        db: "sqlite",
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
          OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
          OTEL_SERVICE_NAME: serviceName,
          // Percent-encoded, as the specification writes header values.
          OTEL_EXPORTER_OTLP_HEADERS: "x-collector-key=k%3Dv%2C1",
          OTEL_BSP_SCHEDULE_DELAY: "100",
        },
      });
      try {
        const parent = caller();
        const u = uniqueUser("otlp");
        const res = await authClient(connectTransport(server.baseUrl)).register(u, {
          headers: { traceparent: parent.traceparent },
        });

        await waitFor(`the ${protocol} export`, () =>
          receiver.spans().some((s) => s.traceId === parent.traceId && s.kind === OTLP_SERVER),
        );
        const ours = receiver.exports.filter((e) => e.spans.some((s) => s.traceId === parent.traceId));
        for (const e of ours) {
          expect(e.path).toBe("/v1/traces");
          expect(e.headers["content-type"]).toBe(contentType);
          expect(e.headers["x-collector-key"]).toBe("k=v,1");
        }
        const spans = receiver.spans().filter((s) => s.traceId === parent.traceId);
        const call = spans.find((s) => s.kind === OTLP_SERVER);
        expect(call).toMatchObject({
          service: serviceName,
          name: "auth.v1.AuthService/Register",
          parentSpanId: parent.spanId,
          attributes: {
            "rpc.system": "connect_rpc",
            "rpc.service": "auth.v1.AuthService",
            "rpc.method": "Register",
            "rpc.grpc.status_code": 0,
          },
        });
        // The children may come in a later batch than their parent.
        await waitFor("the password child span", () =>
          receiver.spans().some((s) => s.parentSpanId === call?.spanId && s.name === "password.hash"),
        );
        // No secret in the bytes sent, whatever the encoding.
        const sent = Buffer.concat(ours.map((e) => e.body)).toString("latin1");
        for (const secret of [u.password, res.tokens?.accessToken ?? "", res.tokens?.refreshToken ?? ""]) {
          expect(secret.length).toBeGreaterThan(16);
          expect(sent).not.toContain(secret);
        }
      } finally {
        await server.close();
      }
    },
  );

  it("when no endpoint is configured, then calls are served without trace ids on their log lines", async () => {
    const server = await startServer({ db: "sqlite", env: { OTEL_SERVICE_NAME: "warden-off" } });
    try {
      const before = receiver.exports.length;
      await fetch(`${server.baseUrl}/health`, { headers: { "x-request-id": "no-tracing-1" } });
      await authClient(connectTransport(server.baseUrl))
        .login(
          { emailOrUsername: "nobody@example.com", password: "not-a-real-password-123" },
          {
            headers: { "x-request-id": "no-tracing-2" },
          },
        )
        .catch(() => undefined);
      await waitFor("the rpc log line", () => server.logs.some((l) => l.request_id === "no-tracing-2"));
      for (const line of server.logs) expect(line.trace_id).toBeUndefined();
      expect(receiver.exports.length).toBe(before);
    } finally {
      await server.close();
    }
  });
});

describe("shutdown of a real process", () => {
  let dir: string;
  let receiver: OtlpReceiver;
  let proc: ServerProcess | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "warden-otlp-"));
    receiver = await startOtlpReceiver();
  });
  afterEach(() => {
    if (proc && proc.child.exitCode === null) proc.child.kill("SIGKILL");
  });
  afterAll(async () => {
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("when SIGTERM arrives with spans still queued in the batch processor, then they are exported before the process exits 0", async () => {
    proc = await spawnServer({
      DATA_DIR: dir,
      DATABASE_URL: `sqlite:${join(dir, "warden.sqlite")}`,
      LOG_LEVEL: "info",
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.endpoint}/v1/traces`,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf",
      // Far beyond the test: only the shutdown flush can send these spans.
      OTEL_BSP_SCHEDULE_DELAY: "600000",
    });
    const parent = caller();
    await authClient(connectTransport(proc.baseUrl)).register(uniqueUser("flush"), {
      headers: { traceparent: parent.traceparent },
    });
    // The log line of the call is written when it ends, as is its span.
    await waitFor("the rpc log line", () => proc?.stdout.some((l) => l.includes(parent.traceId)) ?? false);
    expect(receiver.spans().filter((s) => s.traceId === parent.traceId)).toEqual([]);

    expect(await proc.stop("SIGTERM")).toBe(0);
    const names = receiver
      .spans()
      .filter((s) => s.traceId === parent.traceId)
      .map((s) => s.name);
    expect(names).toContain("auth.v1.AuthService/Register");
    expect(names).toContain("password.hash");
  });
});
