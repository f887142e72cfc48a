/**
 * src/patches/connect-runtime-errors.ts works around errors that the
 * Connect-ES runtime raises before any interceptor runs. The first test pins
 * that upstream behaviour on a bare adapter, without the patch: when it
 * fails, Connect-ES changed it, and the patch may no longer be needed (or may
 * no longer work). The second pins what the patch relies on.
 */

import http from "node:http";
import type { AddressInfo } from "node:net";
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { type ConnectNodeAdapterOptions, connectNodeAdapter } from "@connectrpc/connect-node";
import { afterEach, describe, expect, it } from "vitest";
import { AuthService } from "../../gen/auth/v1/auth_pb.js";
import { ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { createRuntimeErrorGate } from "../../src/patches/connect-runtime-errors.js";

const LOGIN = `/${AuthService.typeName}/Login`;
/** Wire type 7 does not exist: no protobuf decoder accepts these bytes. */
const NOT_PROTOBUF = Uint8Array.from([0x0f, 0x01]);

interface ConnectErrorBody {
  readonly code: string;
  readonly message?: string;
  readonly details?: ReadonlyArray<{ readonly type: string; readonly value: string }>;
}

let server: http.Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

/** A bare adapter serving AuthService with a Login that always answers, behind `interceptors`. */
async function serve(options: Partial<ConnectNodeAdapterOptions> = {}): Promise<string> {
  const routes = (router: ConnectRouter) => router.service(AuthService, { login: () => ({}) });
  const s = http.createServer(connectNodeAdapter({ routes, ...options }));
  server = s;
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

async function post(baseUrl: string, body: Uint8Array | string, contentType: string) {
  const res = await fetch(baseUrl + LOGIN, {
    method: "POST",
    headers: { "content-type": contentType, "connect-protocol-version": "1" },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as ConnectErrorBody };
}

describe("Connect-ES runtime errors (upstream behaviour the patch works around)", () => {
  it("when a request body does not decode, then the bare runtime answers without details and no interceptor sees the error", async () => {
    const seen: unknown[] = [];
    const spy: Interceptor = (next) => async (req) => {
      try {
        return await next(req);
      } catch (e) {
        seen.push(e);
        throw e;
      }
    };
    const baseUrl = await serve({ interceptors: [spy] });

    const binary = await post(baseUrl, NOT_PROTOBUF, "application/proto");
    expect(binary.status).toBe(500);
    expect(binary.body.code).toBe("internal");
    expect(binary.body.message).toMatch(/^parse binary:/);
    expect(binary.body.details ?? []).toEqual([]);

    const json = await post(baseUrl, "{not json", "application/json");
    expect(json.status).toBe(400);
    expect(json.body.code).toBe("invalid_argument");
    expect(json.body.details ?? []).toEqual([]);

    expect(seen).toEqual([]);
  });
});

describe("the patch's hook", () => {
  it("when a request gate listens on the call's abort signal, then it can rewrite the runtime's error before it is sent", async () => {
    const reshaped: string[] = [];
    const gate = createRuntimeErrorGate((error, context) => {
      reshaped.push(`${Code[error.code]} ${context.method.name}`);
      return new ConnectError("reshaped", Code.InvalidArgument, undefined, [
        { desc: ErrorInfoSchema, value: { reason: "VALIDATION_ERROR", domain: "test" } },
      ]);
    });
    const baseUrl = await serve({ requestGate: gate });

    const { status, body } = await post(baseUrl, NOT_PROTOBUF, "application/proto");

    expect(reshaped).toEqual(["Internal Login"]);
    expect(status).toBe(400);
    expect(body.code).toBe("invalid_argument");
    expect(body.message).toBe("reshaped");
    const info = body.details?.find((d) => d.type === "google.rpc.ErrorInfo");
    expect(info && fromBinary(ErrorInfoSchema, Buffer.from(info.value, "base64")).reason).toBe("VALIDATION_ERROR");
  });
});
