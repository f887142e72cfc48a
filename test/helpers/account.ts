import { type DescMessage, toJson } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { AccountService } from "../../gen/auth/v1/account_pb.js";
import { connectTransport, grpcJsCall, grpcJsClient } from "./clients.js";
import { grpcJsFailure, outcome } from "./errors.js";

/** The three ways a client reaches AccountService: Connect (JSON), gRPC (@grpc/grpc-js), the REST routes. */
export type Protocol = "connect" | "grpc" | "rest";
export const PROTOCOLS: readonly Protocol[] = ["connect", "grpc", "rest"];

export type AccountClient = Client<typeof AccountService>;
export const accountClient = (baseUrl: string): AccountClient =>
  createClient(AccountService, connectTransport(baseUrl));

/** The AccountService RPCs this issue serves, by their proto method name. */
export type AccountRpc =
  | "ChangePassword"
  | "RequestPasswordReset"
  | "ResetPassword"
  | "SendVerificationEmail"
  | "VerifyEmail"
  | "ListSessions"
  | "RevokeSession"
  | "RevokeOtherSessions"
  | "DeleteAccount";

/** The REST route of each RPC, as the wire contract writes it (a path variable in braces). */
export const REST_ROUTES: Readonly<Record<AccountRpc, { readonly method: string; readonly path: string }>> = {
  ChangePassword: { method: "POST", path: "/account/password" },
  RequestPasswordReset: { method: "POST", path: "/account/password/reset-request" },
  ResetPassword: { method: "POST", path: "/account/password/reset" },
  SendVerificationEmail: { method: "POST", path: "/account/email/send-verification" },
  VerifyEmail: { method: "POST", path: "/account/email/verify" },
  ListSessions: { method: "GET", path: "/account/sessions" },
  RevokeSession: { method: "DELETE", path: "/account/sessions/{session_id}" },
  RevokeOtherSessions: { method: "POST", path: "/account/sessions/revoke-others" },
  DeleteAccount: { method: "POST", path: "/account/delete" },
};

/** How a call ended: "ok" with the answer (lowerCamelCase keys), or the ErrorInfo reason. */
export interface CallResult {
  readonly reason: string;
  readonly body: Record<string, unknown>;
  /** RetryInfo (gRPC, Connect) or Retry-After (REST), for RATE_LIMITED. */
  readonly retryMs?: number;
}

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function rekey(value: unknown, key: (k: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => rekey(v, key));
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [key(k), rekey(v, key)]));
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

export interface CallOptions {
  /** The access token, sent as `authorization: Bearer …`. */
  readonly token?: string;
  /** Sent as `x-forwarded-for` (believed when the server trusts 127.0.0.1 as a proxy). */
  readonly from?: string;
  readonly userAgent?: string;
}

/**
 * Calls AccountService RPCs over one protocol against one server, with the
 * request in lowerCamelCase proto field names. Each protocol uses a real
 * client: Connect's generated client, a plain @grpc/grpc-js client built
 * from the .proto files, or fetch on the REST routes (snake_case bodies, as
 * the original HTTP API spoke).
 */
export function accountCaller(
  protocol: Protocol,
  server: { baseUrl: string; port: number },
  defaults: { readonly from?: () => string } = {},
) {
  const connect = accountClient(server.baseUrl);
  let grpcClient: grpc.Client | undefined;

  const headersOf = (o: CallOptions): Record<string, string> => {
    // A call without `from` comes from `defaults.from()` if given (each call its own address, so
    // one suite's calls do not add up against the per-address limits), else from 127.0.0.1.
    const from = o.from ?? defaults.from?.();
    return {
      ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
      ...(from ? { "x-forwarded-for": from } : {}),
      ...(o.userAgent !== undefined ? { "user-agent": o.userAgent } : {}),
    };
  };

  async function viaConnect(rpc: AccountRpc, request: Record<string, unknown>, o: CallOptions): Promise<CallResult> {
    const method = AccountService.method[lowerFirst(rpc) as keyof typeof AccountService.method];
    let answer: unknown;
    const call = (connect[method.localName as keyof AccountClient] as (r: unknown, o: unknown) => Promise<unknown>)(
      request,
      { headers: headersOf(o) },
    ).then((r) => {
      answer = r;
    });
    const result = await outcome(call);
    const body =
      result.reason === "ok"
        ? (toJson(method.output as DescMessage, answer as never, { alwaysEmitImplicit: true }) as Record<
            string,
            unknown
          >)
        : {};
    return { reason: result.reason, body, retryMs: result.retryMs };
  }

  async function viaGrpc(rpc: AccountRpc, request: Record<string, unknown>, o: CallOptions): Promise<CallResult> {
    grpcClient ??= grpcJsClient(server.port, "auth.v1.AccountService", "auth/v1/account.proto");
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(headersOf(o))) metadata.set(k, v);
    const res = await grpcJsCall(grpcClient, rpc, rekey(request, snake), metadata);
    if (res.error) {
      const failure = grpcJsFailure(res.error);
      return { reason: failure.reason ?? `no ErrorInfo (${res.error.code})`, body: {} };
    }
    return { reason: "ok", body: rekey(res.response ?? {}, camel) as Record<string, unknown> };
  }

  async function viaRest(rpc: AccountRpc, request: Record<string, unknown>, o: CallOptions): Promise<CallResult> {
    const route = REST_ROUTES[rpc];
    const body = rekey(request, snake) as Record<string, unknown>;
    // Path variables come out of the body, as google.api.http binds them.
    const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = String(body[name] ?? "");
      delete body[name];
      return encodeURIComponent(value);
    });
    const hasBody = route.method === "POST";
    const res = await fetch(server.baseUrl + path, {
      method: route.method,
      headers: { ...headersOf(o), ...(hasBody ? { "content-type": "application/json" } : {}) },
      body: hasBody ? JSON.stringify(body) : undefined,
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (res.ok) return { reason: "ok", body: rekey(json, camel) as Record<string, unknown> };
    const retryAfter = res.headers.get("retry-after");
    return {
      reason: String(json.error_code),
      body: json,
      retryMs: retryAfter === null ? undefined : Number(retryAfter) * 1000,
    };
  }

  return {
    protocol,
    call(rpc: AccountRpc, request: Record<string, unknown> = {}, options: CallOptions = {}): Promise<CallResult> {
      if (protocol === "connect") return viaConnect(rpc, request, options);
      if (protocol === "grpc") return viaGrpc(rpc, request, options);
      return viaRest(rpc, request, options);
    },
    close() {
      grpcClient?.close();
    },
  };
}

export type AccountCaller = ReturnType<typeof accountCaller>;
