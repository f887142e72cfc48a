/**
 * Tracing, seen through an in-memory exporter: one SERVER span per call on
 * every protocol, continued from the caller's `traceparent`, with the RPC
 * attributes, the error reason on failures, child spans for the database and
 * password hashing, the span's ids on the call's log lines, and no secret
 * anywhere in any span.
 */

import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AccountService } from "../../gen/auth/v1/account_pb.js";
import {
  authClient,
  connectTransport,
  grpcJsCall,
  grpcJsClient,
  grpcTransport,
  grpcWebTransport,
} from "../helpers/clients.js";
import { healthClient } from "../helpers/health.js";
import { mailFiles, partOfType, tokenIn } from "../helpers/mail.js";
import { startServer, type TestServer, uniqueUser } from "../helpers/server.js";
import { waitFor } from "../helpers/wait.js";

/** SpanKind and SpanStatusCode of @opentelemetry/api. */
const SERVER = 1;
const INTERNAL = 0;
const CLIENT = 2;
const UNSET = 0;
const ERROR = 2;

const AUTH = "auth.v1.AuthService";

/** A fresh W3C trace context of a caller: its trace id, its span id and the header. */
function caller(sampled = true) {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-${sampled ? "01" : "00"}` };
}

describe("tracing with an in-memory exporter", () => {
  let server: TestServer;
  const exporter = new InMemorySpanExporter();
  /** Every password and token the tests send or receive: none may appear in any span. */
  const secrets: string[] = [];

  const spans = () => exporter.getFinishedSpans();
  const ofTrace = (traceId: string) => spans().filter((s) => s.spanContext().traceId === traceId);
  const childrenOf = (parent: ReadableSpan) =>
    spans().filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);
  /** Waits for the server span of a trace: it ends once the response is finished, after the client has it. */
  async function serverSpan(traceId: string): Promise<ReadableSpan> {
    await waitFor(`server span of ${traceId}`, () => ofTrace(traceId).some((s) => s.kind === SERVER));
    const found = ofTrace(traceId).filter((s) => s.kind === SERVER);
    expect(found).toHaveLength(1);
    return found[0] as ReadableSpan;
  }

  const user = uniqueUser("trace");

  beforeAll(async () => {
    server = await startServer({
      db: "sqlite",
      // One bcrypt slot, and a hash long enough (cost 8: milliseconds) that logins at once queue.
      env: { BCRYPT_CONCURRENCY: "1", BCRYPT_ROUNDS: "8" },
      spanProcessor: new SimpleSpanProcessor({ exporter }),
    });
    secrets.push(user.password);
    const reg = await authClient(connectTransport(server.baseUrl)).register(user);
    secrets.push(reg.tokens?.accessToken ?? "", reg.tokens?.refreshToken ?? "");
  });
  afterAll(() => server?.close());

  it("when a Connect call carries traceparent and tracestate, then its SERVER span continues that trace, is named after the RPC with the RPC attributes, and has database and password child spans", async () => {
    const parent = caller();
    const u = uniqueUser("trace-reg");
    secrets.push(u.password);
    const res = await authClient(connectTransport(server.baseUrl)).register(u, {
      headers: { traceparent: parent.traceparent, tracestate: "vendor=opaque" },
    });
    secrets.push(res.tokens?.accessToken ?? "", res.tokens?.refreshToken ?? "");

    const span = await serverSpan(parent.traceId);
    expect(span.name).toBe(`${AUTH}/Register`);
    expect(span.parentSpanContext?.spanId).toBe(parent.spanId);
    expect(span.spanContext().traceState?.get("vendor")).toBe("opaque");
    expect(span.attributes).toMatchObject({
      "rpc.system": "connect_rpc",
      "rpc.service": AUTH,
      "rpc.method": "Register",
      "rpc.grpc.status_code": 0,
    });
    expect(span.status.code).toBe(UNSET);

    const children = childrenOf(span);
    const names = children.map((c) => c.name);
    expect(names).toContain("password.queue");
    expect(names).toContain("password.hash");
    const db = children.filter((c) => c.name.startsWith("db.users."));
    expect(db.length).toBeGreaterThan(0);
    for (const c of db) {
      expect(c.kind).toBe(CLIENT);
      expect(c.attributes["db.system.name"]).toBe("sqlite");
      expect(c.attributes["db.operation.name"]).toBe(c.name.slice("db.".length));
    }
    for (const c of children.filter((c) => c.name.startsWith("password."))) expect(c.kind).toBe(INTERNAL);
    // Every child lies within the call.
    for (const c of children) expect(c.spanContext().traceId).toBe(parent.traceId);
  });

  it("when a gRPC call from grpc-js fails, then its span has rpc.system grpc, the numeric gRPC code, and ERROR status whose message is the reason only", async () => {
    const parent = caller();
    const md = new grpc.Metadata();
    md.set("traceparent", parent.traceparent);
    const wrong = `wrong-${user.password}`;
    secrets.push(wrong);
    const js = grpcJsClient(server.port);
    const res = await grpcJsCall(js, "Login", { email_or_username: user.email, password: wrong }, md);
    js.close();
    expect(res.error?.code).toBe(grpc.status.UNAUTHENTICATED);

    const span = await serverSpan(parent.traceId);
    expect(span.name).toBe(`${AUTH}/Login`);
    expect(span.parentSpanContext?.spanId).toBe(parent.spanId);
    expect(span.attributes).toMatchObject({
      "rpc.system": "grpc",
      "rpc.service": AUTH,
      "rpc.method": "Login",
      "rpc.grpc.status_code": grpc.status.UNAUTHENTICATED,
      "error.type": "INVALID_CREDENTIALS",
    });
    expect(span.status).toEqual({ code: ERROR, message: "INVALID_CREDENTIALS" });
    expect(childrenOf(span).map((c) => c.name)).toContain("password.verify");
  });

  it("when calls come over gRPC-Web and Connect's gRPC client, then both are rpc.system grpc", async () => {
    for (const transport of [grpcWebTransport(server.baseUrl), grpcTransport(server.baseUrl)]) {
      const parent = caller();
      const res = await authClient(transport).login(
        { emailOrUsername: user.username, password: user.password },
        { headers: { traceparent: parent.traceparent } },
      );
      secrets.push(res.tokens?.accessToken ?? "", res.tokens?.refreshToken ?? "");
      const span = await serverSpan(parent.traceId);
      expect(span.name).toBe(`${AUTH}/Login`);
      expect(span.attributes).toMatchObject({ "rpc.system": "grpc", "rpc.grpc.status_code": 0 });
    }
  });

  it("when REST routes are called, then the span is named after the RPC they run, rpc.system connect_rpc, with the HTTP status, and failures carry their reason — also those refused before the RPC runs", async () => {
    const post = (path: string, body: string, traceparent: string, headers: Record<string, string> = {}) =>
      fetch(`${server.baseUrl}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", traceparent, ...headers },
        body,
      });

    const ok = caller();
    const login = await post(
      "/auth/login",
      JSON.stringify({ email_or_username: user.email, password: user.password }),
      ok.traceparent,
    );
    expect(login.status).toBe(200);
    const tokens = ((await login.json()) as { tokens: { access_token: string; refresh_token: string } }).tokens;
    secrets.push(tokens.access_token, tokens.refresh_token);
    const okSpan = await serverSpan(ok.traceId);
    expect(okSpan.name).toBe(`${AUTH}/Login`);
    expect(okSpan.parentSpanContext?.spanId).toBe(ok.spanId);
    expect(okSpan.attributes).toMatchObject({
      "rpc.system": "connect_rpc",
      "rpc.service": AUTH,
      "rpc.method": "Login",
      "rpc.grpc.status_code": 0,
      "http.request.method": "POST",
      "http.response.status_code": 200,
    });
    expect(childrenOf(okSpan).map((c) => c.name)).toContain("password.verify");

    // Refused before the RPC runs: the body is not JSON.
    const bad = caller();
    expect((await post("/auth/login", "{not json", bad.traceparent)).status).toBe(400);
    const badSpan = await serverSpan(bad.traceId);
    expect(badSpan.name).toBe(`${AUTH}/Login`);
    expect(badSpan.attributes).toMatchObject({
      "rpc.grpc.status_code": 3,
      "error.type": "VALIDATION_ERROR",
      "http.response.status_code": 400,
    });
    expect(badSpan.status).toEqual({ code: ERROR, message: "VALIDATION_ERROR" });

    // A query string (GetCurrentUser takes none) is refused, and never reaches the span.
    secrets.push("query-secret-0123456789");
    const query = caller();
    const refused = await fetch(`${server.baseUrl}/users/me?access_token=query-secret-0123456789`, {
      headers: { traceparent: query.traceparent },
    });
    expect(refused.status).toBe(400);
    const querySpan = await serverSpan(query.traceId);
    expect(querySpan.name).toBe(`${AUTH}/GetCurrentUser`);
    expect(querySpan.attributes["error.type"]).toBe("VALIDATION_ERROR");

    // Failed inside the RPC: a forged token.
    const forged = `${tokens.access_token.slice(0, -6)}AAAAAA`;
    secrets.push(forged);
    const me = caller();
    const res = await fetch(`${server.baseUrl}/users/me`, {
      headers: { authorization: `Bearer ${forged}`, traceparent: me.traceparent },
    });
    expect(res.status).toBe(401);
    const meSpan = await serverSpan(me.traceId);
    expect(meSpan.name).toBe(`${AUTH}/GetCurrentUser`);
    expect(meSpan.attributes).toMatchObject({ "rpc.grpc.status_code": 16, "http.response.status_code": 401 });
    expect(meSpan.status.code).toBe(ERROR);
    expect(meSpan.attributes["error.type"]).toMatch(/^(INVALID_TOKEN|TOKEN_EXPIRED|TOKEN_REVOKED)$/);
  });

  it("when the Connect runtime refuses a call before any interceptor runs, then the span still has the RPC name and the reason", async () => {
    const parent = caller();
    const res = await fetch(`${server.baseUrl}/${AUTH}/Login`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: parent.traceparent },
      body: "{not json",
    });
    expect(res.status).toBe(400);
    const span = await serverSpan(parent.traceId);
    expect(span.name).toBe(`${AUTH}/Login`);
    expect(span.attributes).toMatchObject({
      "rpc.system": "connect_rpc",
      "rpc.grpc.status_code": 3,
      "error.type": "VALIDATION_ERROR",
    });
    expect(span.status).toEqual({ code: ERROR, message: "VALIDATION_ERROR" });
  });

  it("when a plain HTTP route answers, then its span is named by method and path; an unknown path keeps only the method, with NOT_FOUND", async () => {
    const health = caller();
    expect((await fetch(`${server.baseUrl}/health`, { headers: { traceparent: health.traceparent } })).status).toBe(
      200,
    );
    const span = await serverSpan(health.traceId);
    expect(span.name).toBe("GET /health");
    expect(span.attributes).toMatchObject({ "http.route": "/health", "http.response.status_code": 200 });
    expect(span.attributes["rpc.system"]).toBeUndefined();
    expect(span.status.code).toBe(UNSET);

    const unknown = caller();
    secrets.push("path-secret-0123456789");
    const res = await fetch(`${server.baseUrl}/no/such/route?code=path-secret-0123456789`, {
      headers: { traceparent: unknown.traceparent },
    });
    expect(res.status).toBe(404);
    const miss = await serverSpan(unknown.traceId);
    expect(miss.name).toBe("GET");
    expect(miss.attributes).toMatchObject({ "error.type": "NOT_FOUND", "http.response.status_code": 404 });
    expect(miss.status).toEqual({ code: ERROR, message: "NOT_FOUND" });
  });

  it("when a call arrives without traceparent, then a new trace starts, and its log lines carry the span's trace_id and span_id", async () => {
    const requestId = `trace-log-${randomBytes(4).toString("hex")}`;
    const res = await authClient(connectTransport(server.baseUrl)).login(
      { emailOrUsername: user.email, password: user.password },
      { headers: { "x-request-id": requestId } },
    );
    secrets.push(res.tokens?.accessToken ?? "", res.tokens?.refreshToken ?? "");

    await waitFor("the rpc log line", () => server.logs.some((l) => l.request_id === requestId && l.message === "rpc"));
    const lines = server.logs.filter((l) => l.request_id === requestId);
    const rpcLine = lines.find((l) => l.message === "rpc") as Record<string, unknown>;
    expect(rpcLine.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(rpcLine.span_id).toMatch(/^[0-9a-f]{16}$/);
    // The audit line of the login is written inside the same call.
    expect(lines.find((l) => l.message === "audit")?.trace_id).toBe(rpcLine.trace_id);

    const span = await serverSpan(String(rpcLine.trace_id));
    expect(span.spanContext().spanId).toBe(rpcLine.span_id);
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.name).toBe(`${AUTH}/Login`);
  });

  it("when log lines are written outside any call, then they carry no trace ids", () => {
    const listening = server.logs.find((l) => l.message === "listening");
    expect(listening).toBeDefined();
    expect(listening?.trace_id).toBeUndefined();
  });

  it("when logins compete for the one bcrypt slot, then each shows its queue wait and its hash as separate children of its own call", async () => {
    const callers = Array.from({ length: 5 }, () => caller());
    const client = authClient(connectTransport(server.baseUrl));
    const results = await Promise.all(
      callers.map((c) =>
        client.login(
          { emailOrUsername: user.email, password: user.password },
          { headers: { traceparent: c.traceparent } },
        ),
      ),
    );
    for (const r of results) secrets.push(r.tokens?.accessToken ?? "", r.tokens?.refreshToken ?? "");

    const ms = (t: [number, number]) => t[0] * 1e3 + t[1] / 1e6;
    const waits: number[] = [];
    for (const c of callers) {
      const span = await serverSpan(c.traceId);
      const children = childrenOf(span);
      const queue = children.find((s) => s.name === "password.queue");
      const verify = children.find((s) => s.name === "password.verify");
      expect(queue).toBeDefined();
      expect(verify).toBeDefined();
      // The hash starts when the wait is over.
      expect(ms(verify?.startTime ?? [0, 0])).toBeGreaterThanOrEqual(ms(queue?.endTime ?? [0, 0]) - 1);
      waits.push(ms(queue?.duration ?? [0, 0]));
    }
    // Some waited for another's bcrypt run (each takes milliseconds at cost 8).
    expect(Math.max(...waits)).toBeGreaterThan(2);
  });

  it("when a client cancels a traced server stream, then its span is named after the RPC and ends with CANCELLED, not as an error", async () => {
    const parent = caller();
    const abort = new AbortController();
    const stream = healthClient(server.baseUrl).watch(
      { service: "" },
      { signal: abort.signal, headers: { traceparent: parent.traceparent } },
    );
    const seen = (async () => {
      try {
        for await (const _ of stream) abort.abort();
      } catch {
        // Aborted by the test.
      }
    })();
    await seen;
    const span = await serverSpan(parent.traceId);
    expect(span.name).toBe("grpc.health.v1.Health/Watch");
    expect(span.attributes).toMatchObject({ "rpc.system": "grpc", "rpc.service": "grpc.health.v1.Health" });
    // The client went away: CANCELLED, which is not a failure of the server.
    expect(span.attributes["rpc.grpc.status_code"]).toBe(1);
    expect(span.status.code).toBe(UNSET);
  });

  it("when the caller's traceparent says not sampled, then nothing of that trace is exported", async () => {
    const parent = caller(false);
    const requestId = `unsampled-${randomBytes(4).toString("hex")}`;
    await authClient(connectTransport(server.baseUrl))
      .getCurrentUser(
        {},
        { headers: { traceparent: parent.traceparent, "x-request-id": requestId, authorization: "Bearer x" } },
      )
      .catch(() => undefined);
    // A sampled call after it: once its span is in, the unsampled one would have been too.
    const after = caller();
    await fetch(`${server.baseUrl}/health`, { headers: { traceparent: after.traceparent } });
    await serverSpan(after.traceId);
    expect(ofTrace(parent.traceId)).toEqual([]);
    // Its log lines still name the caller's trace, for correlation.
    await waitFor("the rpc log line", () => server.logs.some((l) => l.request_id === requestId && l.message === "rpc"));
    expect(server.logs.find((l) => l.request_id === requestId)?.trace_id).toBe(parent.traceId);
  });

  it("when the outbox sends a password-reset message, then the send is a CLIENT span mail.send of its own trace, naming the message's kind and attempt but not its recipient or link", async () => {
    const account = createClient(AccountService, connectTransport(server.baseUrl));
    await account.requestPasswordReset({ email: user.email });
    await waitFor("the mail.send span", () => spans().some((s) => s.name === "mail.send"));
    const [send] = spans().filter((s) => s.name === "mail.send");
    expect(send?.kind).toBe(CLIENT);
    expect(send?.parentSpanContext).toBeUndefined();
    expect(send?.status.code).toBe(UNSET);
    expect(send?.attributes).toMatchObject({ "mail.kind": "password_reset", "mail.attempt": 1 });
    // The reset link's token was written to the message: it joins the secrets no span may hold.
    await waitFor("the reset message", async () => (await mailFiles(join(server.dataDir, "mail"))).length > 0);
    const [message] = await mailFiles(join(server.dataDir, "mail"));
    const text = message && partOfType(message.mime, "text/plain");
    const token = tokenIn(text?.body ?? "");
    expect(token?.length ?? 0).toBeGreaterThan(16);
    secrets.push(token ?? "");
    expect(JSON.stringify(send?.attributes)).not.toContain(user.email);
    // The pass runs outside the call that queued the message: its log line names no request.
    await waitFor("the mail sent line", () => server.logs.some((l) => l.message === "mail sent"));
    expect(server.logs.find((l) => l.message === "mail sent")?.request_id).toBeUndefined();
  });

  it("when every span of every test is searched, then no name, attribute, event or status holds a password or a token", () => {
    expect(spans().length).toBeGreaterThan(20);
    expect(secrets.filter((s) => s.length < 16)).toEqual([]);
    const all = JSON.stringify(
      spans().map((s) => ({
        name: s.name,
        attributes: s.attributes,
        events: s.events.map((e) => ({ name: e.name, attributes: e.attributes })),
        status: s.status,
        links: s.links.map((l) => l.attributes),
        resource: s.resource.attributes,
      })),
    );
    for (const secret of secrets) expect(all).not.toContain(secret);
    // And no attribute is named after one.
    for (const s of spans()) {
      for (const key of Object.keys(s.attributes)) expect(key).not.toMatch(/password|token|authorization|secret/i);
    }
  });
});
