import { randomBytes } from "node:crypto";
import { bcryptCeiling } from "./ceiling.js";
import { probeHealth } from "./grpc-load.js";
import { runHttpLoad } from "./http-load.js";
import type { Measurement } from "./measurement.js";
import { healthKind } from "./probe.js";
import {
  type Db,
  ECHO,
  type Load,
  PASSWORD,
  PROTOCOLS,
  type RowSample,
  registerUsers,
  rowId,
  seedService,
  TOKEN_PATH,
  unaryLoad,
} from "./scenarios.js";

export interface ScenarioSettings {
  readonly durationS: number;
  readonly rounds: number;
  /** Connections (HTTP/1.1) or calls in flight (gRPC) for the cheap RPCs. */
  readonly connections: number;
  /** Connections for the bcrypt-bound RPCs: enough to keep the hash queue full. */
  readonly hashConnections: number;
}

const uniqueTag = () => `b${randomBytes(4).toString("hex")}`;
const SLICES = 3;
const WARM_UP_S = 0.5;

/**
 * Runs the loads in turn, in `slices` rounds of durationS/slices each
 * (A B C A B C ...), so that a burst of other work on a shared machine
 * falls on every load alike instead of on one of them: the ratios stay
 * comparable even when the absolute numbers move.
 */
async function interleaved(loads: readonly Load[], durationS: number, slices: number): Promise<Measurement[]> {
  // Unmeasured first: a fresh service process compiles its hot path during
  // its first calls, while the bare echo (one process for the whole run) is
  // warm after the first repetition; without this, the first slice of every
  // service load carries the JIT's work.
  for (const load of loads) await load(WARM_UP_S);
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

/**
 * The token path on one database, per protocol in interleaved rounds: the
 * bare echo (the ceiling, its own process), the in-service echo (SQLite run
 * only: the pipeline does not depend on the database, and the run has a time
 * budget), then every TOKEN_PATH scenario that speaks the protocol.
 */
export async function tokenPathRows(
  port: number,
  bareEchoPort: number,
  s: ScenarioSettings,
  db: Db,
): Promise<RowSample[]> {
  const seed = await seedService(port, s.connections, uniqueTag());
  const rows: RowSample[] = [];
  for (const p of PROTOCOLS) {
    const scenarios = TOKEN_PATH.filter((x) => x.protocols.includes(p));
    const withInService = db === "sqlite";
    const loads = [
      unaryLoad(bareEchoPort, s.connections, p, ECHO),
      ...(withInService ? [unaryLoad(port, s.connections, p, ECHO)] : []),
      ...scenarios.map((x) => x.load(seed, p)),
    ];
    const [bare, ...rest] = await interleaved(loads, s.durationS, SLICES);
    if (!bare) continue;
    const inService = withInService ? rest.shift() : undefined;
    rows.push({ id: rowId.bareEcho(p), measurement: bare });
    if (inService) rows.push({ id: rowId.inServiceEcho(p), measurement: inService, ceiling: bare });
    for (const [i, x] of scenarios.entries()) {
      const m = rest[i];
      if (m) rows.push({ id: rowId.tokenPath(x.key, db, p), measurement: m, ceiling: bare, inService });
    }
  }
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
  const AUTH = "/auth.v1.AuthService";

  rows.push({ id: "health-idle", measurement: await probeHealth(port, kind, Math.min(1, s.durationS), 10) });

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
