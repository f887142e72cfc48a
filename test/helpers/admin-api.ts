import { Code, ConnectError, createClient } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { AdminService } from "../../gen/auth/v1/admin_pb.js";
import { connectTransport, grpcJsCall, grpcJsClient } from "./clients.js";
import { connectFailure, grpcJsFailure } from "./errors.js";

/**
 * AdminService through one protocol, with answers in one shape, so a test
 * can run the same story over Connect, gRPC (a plain @grpc/grpc-js client
 * built from the .proto files) and the REST routes. Each call takes the
 * caller's access token (null: no authorization header).
 */

export interface AdminUserView {
  readonly id: string;
  readonly email: string;
  readonly username: string;
  readonly isActive: boolean;
  readonly roles: readonly string[];
}

export interface AdminSessionView {
  readonly id: string;
  readonly current: boolean;
  readonly createdAt: Date;
}

/** A failed call: the contract's reason and the protocol's status (gRPC code, or HTTP status for REST). */
export class AdminCallFailed extends Error {
  constructor(
    readonly reason: string | undefined,
    readonly status: number,
    readonly fields: readonly string[] = [],
  ) {
    super(`admin call failed: ${reason} (${status})`);
  }
}

export interface AdminApi {
  readonly protocol: "connect" | "grpc" | "rest";
  /** The status a protocol reports for PERMISSION_DENIED, UNAUTHENTICATED, NOT_FOUND … */
  statusOf(code: Code): number;
  listUsers(
    token: string | null,
    req: { pageSize?: number; pageToken?: string; query?: string },
  ): Promise<{ users: AdminUserView[]; nextPageToken: string }>;
  getUser(token: string | null, userId: string): Promise<AdminUserView>;
  deactivateUser(token: string | null, userId: string): Promise<AdminUserView>;
  reactivateUser(token: string | null, userId: string): Promise<AdminUserView>;
  setUserRoles(token: string | null, userId: string, roles: readonly string[]): Promise<AdminUserView>;
  listUserSessions(token: string | null, userId: string): Promise<AdminSessionView[]>;
  revokeUserSessions(token: string | null, userId: string): Promise<number>;
  resetUserMfa(token: string | null, userId: string): Promise<AdminUserView>;
  deleteUser(token: string | null, userId: string): Promise<void>;
  close(): void;
}

/** Awaits an admin call that must fail. */
export async function adminFailure(call: Promise<unknown>): Promise<AdminCallFailed> {
  const e = await call.then(
    () => {
      throw new Error("expected the call to fail, but it succeeded");
    },
    (err: unknown) => err,
  );
  if (e instanceof AdminCallFailed) return e;
  throw e;
}

type Loose = Record<string, unknown>;

const str = (v: unknown) => (typeof v === "string" ? v : "");
const strings = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);

/** A User from a proto3 JSON object or a grpc-js object (either spelling of the names). */
function userView(u: unknown): AdminUserView {
  const o = (u ?? {}) as Loose;
  return {
    id: str(o.id),
    email: str(o.email),
    username: str(o.username),
    isActive: o.is_active === true || o.isActive === true,
    roles: strings(o.roles),
  };
}

function timestampOf(v: unknown): Date {
  if (typeof v === "string") return new Date(v);
  const t = (v ?? {}) as { seconds?: string | number; nanos?: number };
  return new Date(Number(t.seconds ?? 0) * 1000 + Math.round((t.nanos ?? 0) / 1e6));
}

function sessionView(s: unknown): AdminSessionView {
  const o = (s ?? {}) as Loose;
  return { id: str(o.id), current: o.current === true, createdAt: timestampOf(o.created_at ?? o.createdAt) };
}

/** Connect (JSON over HTTP/1.1) with the generated client. */
export function connectAdminApi(baseUrl: string): AdminApi {
  const client = createClient(AdminService, connectTransport(baseUrl));
  const opts = (token: string | null) => (token === null ? {} : { headers: { authorization: `Bearer ${token}` } });
  async function call<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (e) {
      if (!(e instanceof ConnectError)) throw e;
      const f = await connectFailure(Promise.reject(e));
      throw new AdminCallFailed(f.reason, f.code, f.fields);
    }
  }
  return {
    protocol: "connect",
    statusOf: (code) => code,
    async listUsers(token, req) {
      const r = await call(client.listUsers(req, opts(token)));
      return { users: r.users.map(userView), nextPageToken: r.nextPageToken };
    },
    getUser: async (token, userId) => userView((await call(client.getUser({ userId }, opts(token)))).user),
    deactivateUser: async (token, userId) =>
      userView((await call(client.deactivateUser({ userId }, opts(token)))).user),
    reactivateUser: async (token, userId) =>
      userView((await call(client.reactivateUser({ userId }, opts(token)))).user),
    setUserRoles: async (token, userId, roles) =>
      userView((await call(client.setUserRoles({ userId, roles: [...roles] }, opts(token)))).user),
    listUserSessions: async (token, userId) =>
      (await call(client.listUserSessions({ userId }, opts(token)))).sessions.map(sessionView),
    revokeUserSessions: async (token, userId) =>
      (await call(client.revokeUserSessions({ userId }, opts(token)))).revokedCount,
    resetUserMfa: async (token, userId) => userView((await call(client.resetUserMfa({ userId }, opts(token)))).user),
    async deleteUser(token, userId) {
      await call(client.deleteUser({ userId }, opts(token)));
    },
    close: () => undefined,
  };
}

/** gRPC over HTTP/2 with a plain @grpc/grpc-js client loaded from proto/auth/v1/admin.proto. */
export function grpcAdminApi(port: number): AdminApi {
  const client = grpcJsClient(port, "auth.v1.AdminService", "auth/v1/admin.proto");
  async function call(method: string, token: string | null, request: Loose): Promise<Loose> {
    const md = new grpc.Metadata();
    if (token !== null) md.set("authorization", `Bearer ${token}`);
    const r = await grpcJsCall<Loose>(client, method, request, md);
    if (r.error) {
      const f = grpcJsFailure(r.error);
      throw new AdminCallFailed(f.reason, r.error.code, f.fields);
    }
    return r.response ?? {};
  }
  return {
    protocol: "grpc",
    statusOf: (code) => code,
    async listUsers(token, req) {
      const r = await call("ListUsers", token, {
        page_size: req.pageSize ?? 0,
        page_token: req.pageToken ?? "",
        query: req.query ?? "",
      });
      return { users: (Array.isArray(r.users) ? r.users : []).map(userView), nextPageToken: str(r.next_page_token) };
    },
    getUser: async (token, userId) => userView((await call("GetUser", token, { user_id: userId })).user),
    deactivateUser: async (token, userId) => userView((await call("DeactivateUser", token, { user_id: userId })).user),
    reactivateUser: async (token, userId) => userView((await call("ReactivateUser", token, { user_id: userId })).user),
    setUserRoles: async (token, userId, roles) =>
      userView((await call("SetUserRoles", token, { user_id: userId, roles: [...roles] })).user),
    async listUserSessions(token, userId) {
      const r = await call("ListUserSessions", token, { user_id: userId });
      return (Array.isArray(r.sessions) ? r.sessions : []).map(sessionView);
    },
    revokeUserSessions: async (token, userId) =>
      Number((await call("RevokeUserSessions", token, { user_id: userId })).revoked_count ?? 0),
    resetUserMfa: async (token, userId) => userView((await call("ResetUserMfa", token, { user_id: userId })).user),
    async deleteUser(token, userId) {
      await call("DeleteUser", token, { user_id: userId });
    },
    close: () => client.close(),
  };
}

/** HTTP status of each code, as the REST routes answer (README, Errors). */
const HTTP_STATUS: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400,
  [Code.Unauthenticated]: 401,
  [Code.PermissionDenied]: 403,
  [Code.NotFound]: 404,
  [Code.FailedPrecondition]: 412,
};

/** The REST routes of the google.api.http annotations, with path and query parameters, via fetch (POSTs with no body, as the README's curl lines send them). */
export function restAdminApi(baseUrl: string): AdminApi {
  async function call(method: string, path: string, token: string | null, body?: unknown): Promise<Loose> {
    const headers: Record<string, string> = {};
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(baseUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const json = (await res.json()) as Loose;
    if (res.status !== 200) {
      const fields = Array.isArray(json.field_violations)
        ? (json.field_violations as Array<{ field: string }>).map((v) => v.field)
        : [];
      throw new AdminCallFailed(str(json.error_code), res.status, fields);
    }
    return json;
  }
  const user = (id: string) => `/admin/users/${encodeURIComponent(id)}`;
  return {
    protocol: "rest",
    statusOf: (code) => HTTP_STATUS[code] ?? 500,
    async listUsers(token, req) {
      const q = new URLSearchParams();
      if (req.pageSize !== undefined) q.set("page_size", String(req.pageSize));
      if (req.pageToken) q.set("page_token", req.pageToken);
      if (req.query) q.set("query", req.query);
      const r = await call("GET", `/admin/users${q.size > 0 ? `?${q}` : ""}`, token);
      return {
        users: (Array.isArray(r.users) ? r.users : []).map(userView),
        nextPageToken: str(r.next_page_token),
      };
    },
    getUser: async (token, userId) => userView((await call("GET", user(userId), token)).user),
    deactivateUser: async (token, userId) => userView((await call("POST", `${user(userId)}/deactivate`, token)).user),
    reactivateUser: async (token, userId) => userView((await call("POST", `${user(userId)}/reactivate`, token)).user),
    setUserRoles: async (token, userId, roles) =>
      userView((await call("PUT", `${user(userId)}/roles`, token, { roles })).user),
    async listUserSessions(token, userId) {
      const r = await call("GET", `${user(userId)}/sessions`, token);
      return (Array.isArray(r.sessions) ? r.sessions : []).map(sessionView);
    },
    revokeUserSessions: async (token, userId) =>
      Number((await call("POST", `${user(userId)}/sessions/revoke`, token)).revoked_count ?? 0),
    resetUserMfa: async (token, userId) => userView((await call("POST", `${user(userId)}/mfa/reset`, token)).user),
    async deleteUser(token, userId) {
      await call("DELETE", user(userId), token);
    },
    close: () => undefined,
  };
}
