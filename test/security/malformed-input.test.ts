import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/auth/v1/auth_pb.js";
import { connectRaw, grpcRaw, grpcWebRaw } from "../helpers/raw-calls.js";
import { startServer, type TestServer } from "../helpers/server.js";

/** Bytes that are not a protobuf message: each fails in a different place of the decoder. */
const GARBAGE: Record<string, Uint8Array> = {
  "a varint that never ends": new Uint8Array(11).fill(0xff),
  "a length past the end": Uint8Array.from([0x0a, 0x10, 0x61]),
  "field number zero": Uint8Array.from([0x00, 0x01]),
  "wire type 7": Uint8Array.from([0x0f, 0x01]),
  "an unmatched end-group": Uint8Array.from([0x0c]),
};

const paths = AuthService.methods.map((m) => `/${AuthService.typeName}/${m.name}`);

describe("malformed messages never yield INTERNAL", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server?.close());

  for (const [what, bytes] of Object.entries(GARBAGE)) {
    it(`when ${what} arrives over Connect binary, gRPC and gRPC-Web, then INVALID_ARGUMENT / VALIDATION_ERROR on every RPC`, async () => {
      for (const path of paths) {
        const connect = await connectRaw(server.baseUrl, path, bytes, true);
        expect(connect, `${path} connect`).toEqual({
          code: Code.InvalidArgument,
          reason: "VALIDATION_ERROR",
          httpStatus: 400,
        });
        const grpc = await grpcRaw(server.port, path, bytes);
        expect(grpc, `${path} grpc`).toMatchObject({
          code: Code.InvalidArgument,
          reason: "VALIDATION_ERROR",
          httpStatus: 200,
        });
        const web = await grpcWebRaw(server.baseUrl, path, bytes);
        expect(web, `${path} grpc-web`).toMatchObject({
          code: Code.InvalidArgument,
          reason: "VALIDATION_ERROR",
          httpStatus: 200,
        });
      }
    });
  }

  it("when the Connect JSON body is not JSON or has wrongly typed fields, then HTTP 400 / VALIDATION_ERROR on every RPC", async () => {
    for (const method of AuthService.methods) {
      // Every field of the request, given a value of the wrong JSON type, in both spellings.
      const wrongTypes = method.input.fields.flatMap((f) => [
        `{"${f.jsonName}": {"nested": true}}`,
        `{"${f.name}": 5}`,
      ]);
      for (const body of ["{not json", "[1,2,3]", '"a string"', "\u0000\u0001", ...wrongTypes]) {
        const r = await connectRaw(server.baseUrl, `/${AuthService.typeName}/${method.name}`, body, false);
        expect(r, `${method.name} ${JSON.stringify(body)}`).toEqual({
          code: Code.InvalidArgument,
          reason: "VALIDATION_ERROR",
          httpStatus: 400,
        });
      }
    }
  });

  it("when a malformed message is refused, then the service still serves the next call normally", async () => {
    await grpcRaw(server.port, paths[0] ?? "", GARBAGE["a length past the end"] ?? new Uint8Array());
    const ok = await connectRaw(
      server.baseUrl,
      `/${AuthService.typeName}/Login`,
      JSON.stringify({ emailOrUsername: "nobody", password: "x-password-x" }),
      false,
    );
    expect(ok).toMatchObject({ code: Code.Unauthenticated, reason: "INVALID_CREDENTIALS" });
    expect(server.logs.some((l) => l.level === "error")).toBe(false);
  });
});

describe("request bodies over MAX_BODY_BYTES are refused before parsing", () => {
  let server: TestServer;
  const max = 2048;
  const big = new Uint8Array(max * 4).fill(0x61);
  beforeAll(async () => {
    server = await startServer({ env: { MAX_BODY_BYTES: String(max) } });
  });
  afterAll(() => server?.close());

  it("when an oversized message is sent over Connect (JSON and binary), gRPC and gRPC-Web, then RESOURCE_EXHAUSTED", async () => {
    const path = `/${AuthService.typeName}/Register`;
    const json = JSON.stringify({ email: "a@b.co", username: "abc", password: "x".repeat(max * 4) });
    const answers = [
      await connectRaw(server.baseUrl, path, json, false),
      await connectRaw(server.baseUrl, path, big, true),
      await grpcRaw(server.port, path, big),
      await grpcWebRaw(server.baseUrl, path, big),
    ];
    for (const a of answers) {
      // Not RATE_LIMITED: nothing about a retry would help.
      expect(a).toMatchObject({ code: Code.ResourceExhausted, reason: "VALIDATION_ERROR" });
    }
  });

  it("when an oversized REST body is sent, with or without content-length, then 413 and the server stays up", async () => {
    const body = JSON.stringify({ email: "a@b.co", username: "abc", password: "x".repeat(max * 4) });
    const sized = await fetch(`${server.baseUrl}/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    expect(sized.status).toBe(413);
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 8; i++) c.enqueue(new TextEncoder().encode(body.slice(i * 1024, (i + 1) * 1024)));
        c.close();
      },
    });
    const chunked = await fetch(`${server.baseUrl}/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: stream,
      duplex: "half",
    } as RequestInit & { duplex: "half" }).catch((e: unknown) => e);
    // Either a clean 413 or the connection closed on the sender mid-upload; never a 5xx.
    if (chunked instanceof Response) expect(chunked.status).toBe(413);
    expect((await fetch(`${server.baseUrl}/.well-known/jwks.json`)).status).toBe(200);
  });
});
