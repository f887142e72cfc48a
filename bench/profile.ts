/**
 * `npx tsx bench/profile.ts [scenario] [seconds] [database] [protocol]`:
 * where a call's CPU goes, stage by stage, next to the bare echo server's.
 *
 *   scenario  current-user (default) | refresh | echo (the in-service echo alone)
 *   seconds   of load per process (default 8)      database  sqlite (default) | postgresql
 *   protocol  connect (default) | grpc
 *   PROFILE_STAGE=<part of a stage name>: list the functions of that stage only
 *   PROFILE_BUILD=<dir>: profile a build made earlier (`tsc -p bench/tsconfig.build.json --outDir <dir>`,
 *     e.g. of another commit, with node_modules linked beside it) instead of building this tree
 *
 * Starts the bare echo server and the service (bench entry, `npm start`'s node
 * options, LOG_LEVEL=info, stdout to a file) with --cpu-prof, drives each with
 * the benchmark's load generator (the bare echo, the in-service echo and the
 * scenario in interleaved thirds, after a one-second warm-up each), and
 * charges each profile sample inside a load's window to a stage
 * (bench/cpu-profile.ts). Prints CPU µs per call per stage and the functions
 * with the most self time; the .cpuprofile files stay for Chrome DevTools.
 */
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { breakdown, monotonicMicros, STAGES, type StageBreakdown, type TimeWindow } from "./cpu-profile.js";
import { createDatabase, PG_ADMIN_URL } from "./databases.js";
import { ECHO, type Load, type Protocol, seedService, TOKEN_PATH, unaryLoad } from "./scenarios.js";
import { buildService, builtIn, startBareEcho, startService } from "./service.js";

const [scenario = "current-user", secondsArg = "8", dbArg = "sqlite", protocolArg = "connect"] = process.argv.slice(2);
const durationS = Number(secondsArg);
const protocol: Protocol = protocolArg === "grpc" ? "grpc" : "connect";
const CONNECTIONS = 10;
const prof = (dir: string) => ["--cpu-prof", `--cpu-prof-dir=${dir}`, "--cpu-prof-interval=250"];

/** A load's measured slices: their clock windows and what the load generator saw. */
interface Measured {
  readonly windows: TimeWindow[];
  requests: number;
  seconds: number;
  /** CPU time inside the windows (/proc): the whole process, and its main thread (the event loop). */
  cpuMicros: number;
  mainMicros: number;
  /** CPU time of the service's PostgreSQL backends inside the windows (same machine, /proc). */
  pgMicros: number;
}

/** User + system CPU time so far, in microseconds (Linux /proc, clock ticks of 10 ms). */
function cpuMicros(statPath: string): number {
  const fields = readFileSync(statPath, "utf8").split(") ")[1]?.split(" ") ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
}
const cpuNow = (pid: number) => ({
  process: cpuMicros(`/proc/${pid}/stat`),
  main: cpuMicros(`/proc/${pid}/task/${pid}/stat`),
});
const readable = (pid: number) => existsSync(`/proc/${pid}/stat`);
const pgNow = (pids: readonly number[]) =>
  pids.filter(readable).reduce((sum, pid) => sum + cpuMicros(`/proc/${pid}/stat`), 0);

/** The server processes serving the service's connections to `databaseUrl` (PostgreSQL on this machine). */
async function pgBackends(databaseUrl: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    const r = await client.query<{ pid: number }>("select pid from pg_stat_activity where datname = $1", [
      new URL(databaseUrl).pathname.slice(1),
    ]);
    return r.rows.map((row) => row.pid);
  } finally {
    await client.end();
  }
}

/**
 * The loads in turn, A B C A B C A B C, each slice a third of `durationS`,
 * after a one-second warm-up of each outside the windows: a burst of other
 * work on the shared machine falls on all of them alike.
 */
async function interleavedWindows(
  loads: ReadonlyArray<readonly [Load, number]>,
  pgPids: () => Promise<number[]>,
): Promise<Measured[]> {
  for (const [load] of loads) await load(1);
  const backends = await pgPids();
  const out: Measured[] = loads.map(() => ({
    windows: [],
    requests: 0,
    seconds: 0,
    cpuMicros: 0,
    mainMicros: 0,
    pgMicros: 0,
  }));
  for (let slice = 0; slice < 3; slice++) {
    for (const [i, [load, pid]] of loads.entries()) {
      const cpu = cpuNow(pid);
      const pgBefore = pgNow(backends);
      const from = monotonicMicros();
      const m = await load(durationS / 3);
      const to = monotonicMicros();
      const o = out[i];
      if (!o) continue;
      o.windows.push({ from, to });
      const after = cpuNow(pid);
      o.cpuMicros += after.process - cpu.process;
      o.mainMicros += after.main - cpu.main;
      o.pgMicros += pgNow(backends) - pgBefore;
      o.requests += m.requests;
      o.seconds += m.rps > 0 ? m.requests / m.rps : 0;
    }
  }
  return out;
}

const build = process.env.PROFILE_BUILD ? builtIn(process.env.PROFILE_BUILD) : buildService();
const bareDir = await mkdtemp(join(tmpdir(), "warden-prof-bare-"));
const serviceDir = await mkdtemp(join(tmpdir(), "warden-prof-service-"));
const db = await createDatabase(dbArg === "postgresql" ? "postgresql" : "sqlite");
const bare = await startBareEcho(build.bareEcho, { nodeArgs: prof(bareDir) });
const service = await startService(build.service, { databaseUrl: db.url, nodeArgs: prof(serviceDir) });
let measured: Measured[];
try {
  const seed = await seedService(service.port, CONNECTIONS, `p${Date.now().toString(36)}`);
  const chosen = TOKEN_PATH.find((s) => s.key === scenario);
  measured = await interleavedWindows(
    [
      [unaryLoad(bare.port, CONNECTIONS, protocol, ECHO), bare.pid],
      [unaryLoad(service.port, CONNECTIONS, protocol, ECHO), service.pid],
      ...(chosen ? [[chosen.load(seed, protocol), service.pid] as const] : []),
    ],
    () => (db.kind === "postgresql" ? pgBackends(db.url) : Promise.resolve([])),
  );
  process.stdout.write(`rss of the service ${service.rssMiB().toFixed(0)} MiB\n`);
} finally {
  await service.stop();
  await bare.stop();
  await db.drop();
}

const profileIn = async (dir: string) => {
  const file = (await readdir(dir)).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no profile written in ${dir}`);
  return join(dir, file);
};
const bareFile = await profileIn(bareDir);
const serviceFile = await profileIn(serviceDir);
const names = ["bare echo", "in-service echo", scenario];
const columns: Array<[string, StageBreakdown, Measured]> = [];
for (const [i, m] of measured.entries()) {
  columns.push([names[i] ?? "", await breakdown(i === 0 ? bareFile : serviceFile, m.windows), m]);
}
const perCall = (m: Measured, micros: number) => (m.requests > 0 ? micros / m.requests : 0);
/**
 * V8 samples on wall time: on a busy machine a descheduled event loop still
 * gets samples. So a stage's µs are its share of the busy samples times the
 * main thread's measured CPU time per call.
 */
const stageCall = (b: StageBreakdown, m: Measured, micros: number) =>
  b.busyMicros > 0 ? perCall(m, (micros / b.busyMicros) * m.mainMicros) : 0;
const out: string[] = [
  `${scenario} over ${protocol}, ${dbArg}, ${durationS} s per load, ${CONNECTIONS} connections; CPU µs per call by stage (event loop)`,
  "",
  `| stage | ${columns.map(([name]) => name).join(" | ")} |`,
  `|---|${columns.map(() => "---:").join("|")}|`,
];
for (const stage of STAGES) {
  if (columns.every(([, b]) => b.micros[stage] === 0)) continue;
  out.push(`| ${stage} | ${columns.map(([, b, w]) => stageCall(b, w, b.micros[stage]).toFixed(0)).join(" | ")} |`);
}
out.push(
  `| **event loop CPU per call** | ${columns.map(([, , m]) => `**${perCall(m, m.mainMicros).toFixed(0)}**`).join(" | ")} |`,
);
out.push(
  `| process CPU per call (/proc, all threads) | ${columns.map(([, , m]) => perCall(m, m.cpuMicros).toFixed(0)).join(" | ")} |`,
);
if (db.kind === "postgresql")
  out.push(
    `| PostgreSQL backends' CPU per call (/proc) | ${columns.map(([, , m]) => perCall(m, m.pgMicros).toFixed(0)).join(" | ")} |`,
  );
out.push(`| calls/s under load | ${columns.map(([, , m]) => (m.requests / m.seconds).toFixed(0)).join(" | ")} |`);
// PROFILE_STAGE=<part of a stage's name>: the top lists of that stage only.
const stageFilter = process.env.PROFILE_STAGE;
const focus = stageFilter ? STAGES.find((s) => s.includes(stageFilter)) : undefined;
for (const [name, b, m] of columns) {
  out.push("", `Functions with the most self time, ${name}${focus ? `, stage ${focus}` : ""} (µs per call):`);
  const fns = focus ? (b.functionsByStage.get(focus) ?? new Map<string, number>()) : b.functions;
  const top = [...fns.entries()].sort((x, y) => y[1] - x[1]).slice(0, name === scenario ? 30 : 15);
  for (const [k, v] of top) out.push(`${stageCall(b, m, v).toFixed(1).padStart(7)}  ${k}`);
}
out.push("", `profiles: ${bareFile} ${serviceFile}`);
process.stdout.write(`${out.join("\n")}\n`);
