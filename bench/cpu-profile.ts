import { readFile } from "node:fs/promises";

/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and charges each sample's time to
 * a stage of the request path: the innermost frame on the sample's stack that
 * belongs to a known stage wins, so time spent in Node internals (streams,
 * promises, timers) goes to the stage that called them. Only samples inside a
 * window are counted: the load, not the process's start-up or shutdown.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Stages, in the order printed; the first rule whose pattern matches a frame's location names it. */
export const STAGES = [
  "front (sniffing, request id, CORS, call context)",
  "interceptors (call context, errors)",
  "logging (per-call line, audit, winston)",
  "metrics (prom-client)",
  "AsyncLocalStorage (promise hooks)",
  "token verification",
  "database read (+ guard)",
  "handler and domain",
  "serialisation (protobuf, mappers)",
  "Connect runtime",
  "node HTTP/1.1 and HTTP/2",
  "garbage collection",
  "native, unattributed",
  "other JS (promises, async hooks, streams)",
] as const;
export type Stage = (typeof STAGES)[number];

const RULES: ReadonlyArray<readonly [Stage, RegExp]> = [
  // First: the hooks run inside whatever made the promise, so they are the innermost frame.
  ["AsyncLocalStorage (promise hooks)", /^node:internal\/(async_hooks|async_local_storage)/],
  ["metrics (prom-client)", /^(prom-client|src\/metrics\/)/],
  [
    "logging (per-call line, audit, winston)",
    /^(src\/logger|src\/transport\/interceptors\/logging|src\/transport\/audit-log|winston|logform|triple-beam|readable-stream|safe-stable-stringify|@colors|@dabh|fecha|one-time)/,
  ],
  ["interceptors (call context, errors)", /^src\/transport\/(interceptors\/|errors|runtime-errors|error-table)/],
  [
    "front (sniffing, request id, CORS, call context)",
    /^(src\/app|src\/transport\/(server|cors|client-address|call-context|http-util)|bench\/bare-echo)/,
  ],
  ["token verification", /^(src\/tokens\/|jose\/)/],
  ["database read (+ guard)", /^(src\/db\/|@mikro-orm\/|better-sqlite3|pg|pg-protocol|pg-pool|cockatiel|kysely|knex)/],
  ["handler and domain", /^(src\/domain\/|src\/transport\/auth-handlers|bench\/in-service-echo)/],
  ["serialisation (protobuf, mappers)", /^(src\/transport\/mappers|@bufbuild\/protobuf|gen\/)/],
  ["Connect runtime", /^@connectrpc\//],
  ["node HTTP/1.1 and HTTP/2", /^node:(_http_|http|internal\/http2|internal\/http|net$|internal\/stream_base_commons)/],
];

/**
 * A frame's location relative to the build (src/..., bench/..., gen/...) or to
 * node_modules (pkg/...). The benchmark's own build lives in dist/bench-build;
 * a PROFILE_BUILD folder anywhere.
 */
function location(url: string): string {
  const built = /\/dist\/bench-build\/(.*)$/.exec(url);
  if (built?.[1]) return built[1];
  const mod = /node_modules\/(.*)$/.exec(url);
  if (mod?.[1]) return mod[1];
  const other = /^file:\/\/.*?\/((src|bench|gen)\/.*)$/.exec(url);
  if (other?.[1]) return other[1];
  return url;
}

export interface StageBreakdown {
  /** CPU microseconds (non-idle samples) per stage, inside the window. */
  readonly micros: Record<Stage, number>;
  /** Non-idle microseconds in the window. */
  readonly busyMicros: number;
  /** Self time per function (for the top list), microseconds. */
  readonly functions: Map<string, number>;
  /** The same, per stage. */
  readonly functionsByStage: Map<Stage, Map<string, number>>;
}

/** A stretch of the monotonic clock, in microseconds. */
export interface TimeWindow {
  readonly from: number;
  readonly to: number;
}

/**
 * Breaks a profile down by stage over the given windows of the monotonic
 * clock (V8's sample timestamps and process.hrtime share it on Linux).
 */
export async function breakdown(path: string, windows: readonly TimeWindow[]) {
  const profile = JSON.parse(await readFile(path, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const stageOf = new Map<number, Stage | "idle">();
  const classify = (id: number): Stage | "idle" => {
    const known = stageOf.get(id);
    if (known) return known;
    const name = byId.get(id)?.callFrame.functionName;
    let stage: Stage | "idle" | undefined =
      name === "(idle)"
        ? "idle"
        : name === "(garbage collector)"
          ? "garbage collection"
          : name === "(program)"
            ? "native, unattributed"
            : undefined;
    for (let cur: number | undefined = id; !stage && cur !== undefined; cur = parent.get(cur)) {
      const loc = location(byId.get(cur)?.callFrame.url ?? "");
      stage = RULES.find(([, re]) => re.test(loc))?.[0];
    }
    stage ??= "other JS (promises, async hooks, streams)";
    stageOf.set(id, stage);
    return stage;
  };

  const micros = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;
  const functions = new Map<string, number>();
  const functionsByStage = new Map<Stage, Map<string, number>>();
  let busyMicros = 0;
  let t = profile.startTime;
  for (const [i, id] of profile.samples.entries()) {
    const dt = profile.timeDeltas[i] ?? 0;
    t += dt;
    if (!windows.some((w) => t >= w.from && t <= w.to)) continue;
    // A sample's time is the gap to the next one.
    const weight = profile.timeDeltas[i + 1] ?? dt;
    const stage = classify(id);
    if (stage === "idle") continue;
    micros[stage] += weight;
    busyMicros += weight;
    const f = byId.get(id)?.callFrame;
    if (f) {
      const key = `${f.functionName || "(anonymous)"} ${location(f.url)}:${f.lineNumber + 1}`;
      functions.set(key, (functions.get(key) ?? 0) + weight);
      const own = functionsByStage.get(stage) ?? new Map<string, number>();
      own.set(key, (own.get(key) ?? 0) + weight);
      functionsByStage.set(stage, own);
    }
  }
  return { micros, busyMicros, functions, functionsByStage } satisfies StageBreakdown;
}

/** The monotonic clock in microseconds, as V8 stamps profile samples. */
export const monotonicMicros = (): number => Number(process.hrtime.bigint() / 1000n);
