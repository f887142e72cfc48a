import { randomBytes } from "node:crypto";
import { bcryptCeiling } from "./ceiling.js";
import { ECHO, ENVOY_CHECK, GET_CURRENT_USER, probeHealth, runGrpcLoad } from "./grpc-load.js";
import { connectCall, runHttpLoad } from "./http-load.js";
import type { Measurement } from "./measurement.js";
import { healthKind } from "./probe.js";

/** One row of one repetition: a measurement and, where it has one, the ceiling it is divided by. */
export interface RowSample {
  readonly id: RowId;
  readonly measurement: Measurement;
  readonly ceiling?: Measurement;
}

/** Every row of the table, in the order printed. */
export const ROWS = {
  "echo-connect": { scenario: "Echo, Connect JSON/HTTP 1.1 (baseline)", goal: undefined },
  login: { scenario: "Login ÷ bcrypt compare ceiling", goal: { ratioAtLeast: 0.9 } },
  register: { scenario: "Register ÷ bcrypt hash ceiling", goal: { ratioAtLeast: 0.9 } },
  "health-idle": { scenario: "Health, idle", goal: undefined },
  "health-flood": { scenario: "Health during a login flood", goal: { p99AtMost: 20 } },
  "current-user-connect": { scenario: "GetCurrentUser, SQLite ÷ Echo (Connect JSON)", goal: { ratioAtLeast: 0.5 } },
  "current-user-postgresql": {
    scenario: "GetCurrentUser, PostgreSQL ÷ Echo (Connect JSON)",
    goal: { ratioAtLeast: 0.5 },
  },
  "refresh-sqlite": { scenario: "Refresh, SQLite ÷ Echo (Connect JSON)", goal: { ratioAtLeast: 0.25 } },
  "refresh-postgresql": { scenario: "Refresh, PostgreSQL ÷ Echo (Connect JSON)", goal: { ratioAtLeast: 0.25 } },
  "echo-grpc": { scenario: "Echo, gRPC/h2c (baseline)", goal: undefined },
  "current-user-grpc": { scenario: "GetCurrentUser, SQLite ÷ Echo (gRPC/h2c)", goal: { ratioAtLeast: 0.5 } },
  // The token checks other services call: the same one read as GetCurrentUser, so the same goal.
  "introspect-connect": { scenario: "IntrospectToken, SQLite ÷ Echo (Connect JSON)", goal: { ratioAtLeast: 0.5 } },
  "envoy-check-grpc": { scenario: "Envoy Check, SQLite ÷ Echo (gRPC/h2c)", goal: { ratioAtLeast: 0.5 } },
} as const;
export type RowId = keyof typeof ROWS;

export interface ScenarioSettings {
  readonly durationS: number;
  readonly rounds: number;
  /** Connections (HTTP/1.1) or calls in flight (gRPC) for the cheap RPCs. */
  readonly connections: number;
  /** Connections for the bcrypt-bound RPCs: enough to keep the hash queue full. */
  readonly hashConnections: number;
}

const PASSWORD = "bench-password-0123456789";
const ECHO_PATH = "/bench.v1.EchoService/Echo";
const AUTH = "/auth.v1.AuthService";

interface AuthAnswer {
  tokens: { accessToken: string; refreshToken: string };
}

/** Registers `n` users (bcrypt-bound, so a few at a time) and returns their token pairs. */
export async function registerUsers(port: number, n: number, tag: string): Promise<AuthAnswer["tokens"][]> {
  const out: AuthAnswer["tokens"][] = [];
  const batch = 4;
  for (let i = 0; i < n; i += batch) {
    const calls = Array.from({ length: Math.min(batch, n - i) }, (_, j) => {
      const name = `${tag}${i + j}`;
      return connectCall<AuthAnswer>(port, `${AUTH}/Register`, {
        email: `${name}@bench.example`,
        username: name,
        password: PASSWORD,
      });
    });
    for (const r of await Promise.all(calls)) out.push(r.tokens);
  }
  return out;
}

const uniqueTag = () => `b${randomBytes(4).toString("hex")}`;

/**
 * Runs the loads in turn, in `slices` rounds of durationS/slices each
 * (A B C A B C ...), so that a burst of other work on a shared machine
 * falls on every load alike instead of on one of them: the ratios stay
 * comparable even when the absolute numbers move.
 */
async function interleaved(
  loads: ReadonlyArray<(durationS: number) => Promise<Measurement>>,
  durationS: number,
  slices: number,
): Promise<Measurement[]> {
  const parts: Measurement[][] = loads.map(() => []);
  const n = Math.max(1, Math.min(slices, Math.floor(durationS)));
  for (let i = 0; i < n; i++) {
    for (const [j, load] of loads.entries()) parts[j]?.push(await load(durationS / n));
  }
  return parts.map(combine);
}

/** Slices of one load as one measurement: rates add up over time; p50 weighted, p99 the worst slice's. */
function combine(ms: readonly Measurement[]): Measurement {
  const requests = ms.reduce((s, m) => s + m.requests, 0);
  const seconds = ms.reduce((s, m) => s + (m.rps > 0 ? m.requests / m.rps : 0), 0);
  return {
    rps: seconds > 0 ? requests / seconds : 0,
    p50: requests > 0 ? ms.reduce((s, m) => s + m.p50 * m.requests, 0) / requests : Number.NaN,
    p99: Math.max(...ms.map((m) => m.p99)),
    errors: ms.reduce((s, m) => s + m.errors, 0),
    requests,
  };
}

const SLICES = 3;

/** Echo, GetCurrentUser and Refresh side by side on one server (cheap RPCs; the DB and Connect matter). */
export async function cheapRows(port: number, s: ScenarioSettings, db: "sqlite" | "postgresql"): Promise<RowSample[]> {
  const tag = uniqueTag();
  // Each refresh rotates its token, so every connection walks its own chain; a
  // small surplus keeps a token ready whatever order the answers come in.
  const tokens = await registerUsers(port, s.connections + 4, tag);
  const access = tokens[0]?.accessToken ?? "";
  const pool = tokens.map((t) => t.refreshToken);
  const connections = s.connections;

  const echo = (durationS: number) =>
    runHttpLoad({ port, durationS, connections, path: ECHO_PATH, body: { message: "hello" } });
  const currentUser = (durationS: number) =>
    runHttpLoad({
      port,
      durationS,
      connections,
      path: `${AUTH}/GetCurrentUser`,
      headers: { authorization: `Bearer ${access}` },
    });
  // A run ends with calls in flight whose answers are never read. Their
  // tokens go back to the pool: if the server did rotate one, asking again
  // within the reuse interval returns the same successor, and the chain goes on.
  const inflight = new Set<string>();
  const refresh = async (durationS: number) => {
    const m = await runHttpLoad({
      port,
      durationS,
      connections,
      path: `${AUTH}/Refresh`,
      nextBody: (call) => {
        const token = pool.shift() ?? "";
        inflight.add(token);
        call.token = token;
        return { refreshToken: token };
      },
      onAnswer: (status, body, call) => {
        if (typeof call.token === "string") inflight.delete(call.token);
        if (status === 200) pool.push((JSON.parse(body) as AuthAnswer).tokens.refreshToken);
      },
    });
    pool.push(...inflight);
    inflight.clear();
    return m;
  };

  const introspect = (durationS: number) =>
    runHttpLoad({
      port,
      durationS,
      connections,
      path: "/auth.v1.TokenService/IntrospectToken",
      body: { token: access },
    });

  const rows: RowSample[] = [];
  const loads = db === "postgresql" ? [echo, currentUser, refresh] : [echo, currentUser, refresh, introspect];
  const [e, u, r, i] = await interleaved(loads, s.durationS, SLICES);
  if (e && u && r && db === "postgresql") {
    rows.push(
      { id: "current-user-postgresql", measurement: u, ceiling: e },
      { id: "refresh-postgresql", measurement: r, ceiling: e },
    );
    return rows;
  }
  if (e && u && r) {
    rows.push({ id: "echo-connect", measurement: e });
    rows.push({ id: "current-user-connect", measurement: u, ceiling: e });
    rows.push({ id: "refresh-sqlite", measurement: r, ceiling: e });
    if (i) rows.push({ id: "introspect-connect", measurement: i, ceiling: e });
  }
  const grpcEcho = (durationS: number) =>
    runGrpcLoad({ port, durationS, concurrency: connections, method: ECHO, request: { message: "hello" } });
  const grpcUser = (durationS: number) =>
    runGrpcLoad({
      port,
      durationS,
      concurrency: connections,
      method: GET_CURRENT_USER,
      request: {},
      metadata: { authorization: `Bearer ${access}` },
    });
  // Envoy's Check as Envoy sends it: the request's headers in attributes.request.http.
  const envoyCheck = (durationS: number) =>
    runGrpcLoad({
      port,
      durationS,
      concurrency: connections,
      method: ENVOY_CHECK,
      request: { attributes: { request: { http: { headers: { authorization: `Bearer ${access}` } } } } },
    });
  const [ge, gu, gc] = await interleaved([grpcEcho, grpcUser, envoyCheck], s.durationS, SLICES);
  if (ge && gu)
    rows.push({ id: "echo-grpc", measurement: ge }, { id: "current-user-grpc", measurement: gu, ceiling: ge });
  if (ge && gc) rows.push({ id: "envoy-check-grpc", measurement: gc, ceiling: ge });
  return rows;
}

/** Login, health under a login flood, and Register, each next to its bcrypt ceiling. */
export async function hashRows(port: number, s: ScenarioSettings): Promise<RowSample[]> {
  const tag = uniqueTag();
  const [user] = await registerUsers(port, 1, `${tag}l`);
  if (!user) throw new Error("could not register the login user");
  const login = { emailOrUsername: `${tag}l0`, password: PASSWORD };
  const kind = await healthKind(port);
  const rows: RowSample[] = [];

  rows.push({ id: "health-idle", measurement: await probeHealth(port, kind, Math.min(2, s.durationS), 10) });

  const compareCeiling = await bcryptCeiling("compare", s.rounds, s.durationS * 1000);
  const loginLoad = () =>
    runHttpLoad({ port, durationS: s.durationS, connections: s.hashConnections, path: `${AUTH}/Login`, body: login });
  rows.push({ id: "login", measurement: await loginLoad(), ceiling: compareCeiling });

  const [, health] = await Promise.all([loginLoad(), probeHealth(port, kind, s.durationS, 10)]);
  rows.push({ id: "health-flood", measurement: health });

  const hashCeiling = await bcryptCeiling("hash", s.rounds, s.durationS * 1000);
  let n = 0;
  const register = await runHttpLoad({
    port,
    durationS: s.durationS,
    connections: s.hashConnections,
    path: `${AUTH}/Register`,
    nextBody: () => {
      const name = `${tag}r${n++}`;
      return { email: `${name}@bench.example`, username: name, password: PASSWORD };
    },
  });
  rows.push({ id: "register", measurement: register, ceiling: hashCeiling });
  return rows;
}
