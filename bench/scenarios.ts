import { grpcMethod, runGrpcLoad } from "./grpc-load.js";
import { connectCall, runHttpLoad } from "./http-load.js";
import type { Measurement } from "./measurement.js";

/**
 * What the benchmark measures. The token path (the RPCs other services call
 * on every request they serve) is a list: a new token check joins the table
 * with one entry in TOKEN_PATH, measured over each of its protocols on both
 * databases, side by side with the bare echo (its ceiling) and the
 * in-service echo.
 */

export type Protocol = "connect" | "grpc";
export type Db = "sqlite" | "postgresql";
export const PROTOCOLS: readonly Protocol[] = ["connect", "grpc"];
export const DATABASES: readonly Db[] = ["sqlite", "postgresql"];
const PROTOCOL_LABEL: Record<Protocol, string> = { connect: "Connect JSON/HTTP 1.1", grpc: "gRPC/h2c" };
const DB_LABEL: Record<Db, string> = { sqlite: "SQLite", postgresql: "PostgreSQL" };

/** One load run for `durationS` seconds. */
export type Load = (durationS: number) => Promise<Measurement>;

/** What every token-path load gets: the service under test and a few registered users. */
export interface Seed {
  readonly port: number;
  readonly connections: number;
  /** One client's access token, repeated as a client does between refreshes. */
  readonly accessToken: string;
  /** Refresh tokens of `connections + 4` other users: Refresh walks one chain per connection. */
  readonly refreshTokens: string[];
}

export interface TokenPathScenario {
  readonly key: string;
  /** The RPC's name, as the table shows it. */
  readonly name: string;
  readonly protocols: readonly Protocol[];
  /** The ratio to the bare echo each database/protocol must reach (issue 11); absent: reported only. */
  readonly goals: Partial<Record<`${Db}/${Protocol}`, number>>;
  readonly load: (seed: Seed, protocol: Protocol) => Load;
}

/** A unary call with a fixed request, as both drivers send it. */
export interface UnaryCall {
  /** The .proto file under proto/ (the gRPC driver loads it). */
  readonly proto: string;
  readonly service: string;
  readonly method: string;
  readonly request: object;
  readonly headers?: Record<string, string>;
}

/** Closed-loop load of one unary call: autocannon for Connect JSON, @grpc/grpc-js for gRPC. */
export function unaryLoad(port: number, connections: number, protocol: Protocol, call: UnaryCall): Load {
  if (protocol === "connect") {
    const path = `/${call.service}/${call.method}`;
    return (durationS) =>
      runHttpLoad({ port, durationS, connections, path, body: call.request, headers: call.headers });
  }
  const method = grpcMethod(call.proto, call.service, call.method);
  return (durationS) =>
    runGrpcLoad({ port, durationS, concurrency: connections, method, request: call.request, metadata: call.headers });
}

const AUTH = { proto: "auth/v1/auth.proto", service: "auth.v1.AuthService" } as const;
export const ECHO: UnaryCall = {
  proto: "bench/v1/echo.proto",
  service: "bench.v1.EchoService",
  method: "Echo",
  request: { message: "hello" },
};

/**
 * The token path: GetCurrentUser and the two token checks other services call
 * on every request (IntrospectToken, Envoy's `Check`), each against the same
 * bare echo; then Refresh, the write on the path.
 */
export const TOKEN_PATH: readonly TokenPathScenario[] = [
  {
    key: "current-user",
    name: "GetCurrentUser",
    protocols: ["connect", "grpc"],
    goals: { "sqlite/connect": 0.6, "sqlite/grpc": 0.6, "postgresql/connect": 0.45 },
    load: (seed, protocol) =>
      unaryLoad(seed.port, seed.connections, protocol, {
        ...AUTH,
        method: "GetCurrentUser",
        request: {},
        headers: { authorization: `Bearer ${seed.accessToken}` },
      }),
  },
  {
    key: "introspect",
    name: "IntrospectToken",
    // gRPC only, as the services that call it on every request do; over
    // Connect JSON it costs what GetCurrentUser does (the run has a time budget).
    protocols: ["grpc"],
    goals: { "sqlite/grpc": 0.6, "postgresql/grpc": 0.6 },
    load: (seed, protocol) =>
      unaryLoad(seed.port, seed.connections, protocol, {
        proto: "auth/v1/token.proto",
        service: "auth.v1.TokenService",
        method: "IntrospectToken",
        request: { token: seed.accessToken },
      }),
  },
  {
    // Envoy's Check as Envoy sends it: the request's headers in attributes.request.http.
    key: "envoy-check",
    name: "Envoy Check",
    protocols: ["grpc"],
    goals: { "sqlite/grpc": 0.6, "postgresql/grpc": 0.6 },
    load: (seed, protocol) =>
      unaryLoad(seed.port, seed.connections, protocol, {
        proto: "envoy/service/auth/v3/external_auth.proto",
        service: "envoy.service.auth.v3.Authorization",
        method: "Check",
        request: { attributes: { request: { http: { headers: { authorization: `Bearer ${seed.accessToken}` } } } } },
      }),
  },
  {
    key: "refresh",
    name: "Refresh",
    protocols: ["connect"],
    goals: { "postgresql/connect": 0.3 },
    load: (seed) => refreshLoad(seed),
  },
];

/**
 * Every Refresh is a real rotation (a write and a signature): each connection
 * walks its own token chain. A run ends with calls in flight whose answers
 * are never read. Their chains are settled at once, outside the measured
 * window: asking again within the reuse interval returns the successor the
 * server made (or rotates now if it made none). Handing those tokens back
 * for the next slice instead would let other loads' slices pass in between,
 * and past the reuse interval a repeat is a reuse: the session is revoked.
 */
function refreshLoad(seed: Seed): Load {
  const pool = seed.refreshTokens;
  const inflight = new Set<string>();
  return async (durationS) => {
    const m = await runHttpLoad({
      port: seed.port,
      durationS,
      connections: seed.connections,
      path: "/auth.v1.AuthService/Refresh",
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
    const unsettled = [...inflight];
    inflight.clear();
    for (const token of unsettled) {
      const answer = await connectCall<AuthAnswer>(seed.port, "/auth.v1.AuthService/Refresh", {
        refreshToken: token,
      }).catch(() => undefined);
      if (answer) pool.push(answer.tokens.refreshToken);
    }
    return m;
  };
}

type Goal = { readonly ratioAtLeast: number } | { readonly p99AtMost: number };

/** A row of the table: what it is called and the goal it is held to. */
export interface RowDef {
  readonly id: string;
  readonly scenario: string;
  readonly goal?: Goal;
  /** For ratio rows: also divide by the in-service echo ("handler cost"). */
  readonly handlerCost?: boolean;
}

/** One row of one repetition: a measurement and what it is divided by. */
export interface RowSample {
  readonly id: string;
  readonly measurement: Measurement;
  /** The ceiling: the bare echo for RPC rows, bcrypt for Login and Register. */
  readonly ceiling?: Measurement;
  /** The in-service echo measured in the same rounds (token-path rows on SQLite). */
  readonly inService?: Measurement;
}

export const rowId = {
  bareEcho: (p: Protocol) => `bare-echo/${p}`,
  inServiceEcho: (p: Protocol) => `in-service-echo/${p}`,
  tokenPath: (key: string, db: Db, p: Protocol) => `${key}/${db}/${p}`,
};

/** Every row of the table, in the order printed. */
export const ROWS: readonly RowDef[] = [
  ...PROTOCOLS.flatMap((p): RowDef[] => [
    { id: rowId.bareEcho(p), scenario: `Bare echo, ${PROTOCOL_LABEL[p]} (ceiling)` },
    { id: rowId.inServiceEcho(p), scenario: `In-service echo ÷ bare echo, ${PROTOCOL_LABEL[p]} (pipeline)` },
    ...TOKEN_PATH.filter((s) => s.protocols.includes(p)).flatMap((s) =>
      DATABASES.map((db): RowDef => {
        const goal = s.goals[`${db}/${p}`];
        return {
          id: rowId.tokenPath(s.key, db, p),
          scenario: `${s.name}, ${DB_LABEL[db]} ÷ bare echo (${PROTOCOL_LABEL[p]})`,
          goal: goal === undefined ? undefined : { ratioAtLeast: goal },
          handlerCost: true,
        };
      }),
    ),
  ]),
  { id: "login", scenario: "Login ÷ bcrypt compare ceiling", goal: { ratioAtLeast: 0.9 } },
  { id: "register", scenario: "Register ÷ bcrypt hash ceiling", goal: { ratioAtLeast: 0.9 } },
  { id: "health-idle", scenario: "Health, idle" },
  { id: "health-flood", scenario: "Health during a login flood", goal: { p99AtMost: 20 } },
];

export const PASSWORD = "bench-password-0123456789";

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
      return connectCall<AuthAnswer>(port, "/auth.v1.AuthService/Register", {
        email: `${name}@bench.example`,
        username: name,
        password: PASSWORD,
      });
    });
    for (const r of await Promise.all(calls)) out.push(r.tokens);
  }
  return out;
}

/** Registers the users every token-path load needs. */
export async function seedService(port: number, connections: number, tag: string): Promise<Seed> {
  const [reader, ...others] = await registerUsers(port, connections + 5, tag);
  return {
    port,
    connections,
    accessToken: reader?.accessToken ?? "",
    // Not the reader's session: Refresh rewrites its session row on every
    // rotation, hundreds of times a second here, and reads of a row churned
    // that hard (PostgreSQL walks its dead versions) are not what a token
    // check meets, where a session is refreshed every few minutes.
    refreshTokens: others.map((t) => t.refreshToken),
  };
}
