/**
 * `npx tsx bench/compare.ts <buildA> <buildB> [scenario] [protocol] [database] [seconds]`:
 * two builds of the service side by side against one bare echo server, in
 * interleaved rounds (bare, A echo, A scenario, B echo, B scenario, ...), for
 * a before/after ratio that a busy shared machine does not skew: a burst of
 * other work falls on both alike.
 *
 *   build     a folder made by `npx tsc -p bench/tsconfig.build.json --outDir <dir>` (of any commit,
 *             e.g. from `git archive <commit>`), with node_modules linked beside it
 *   scenario  a TOKEN_PATH key: current-user (default), refresh
 *   protocol  connect (default) | grpc          database  sqlite (default) | postgresql
 *   seconds   per load, in 4 rounds (default 20)
 *   A_NODE_ARGS / B_NODE_ARGS: node flags added after `npm start`'s (e.g. to try a flag on B only)
 *   A_ENV / B_ENV: environment settings added to that side's service, "NAME=value NAME=value"
 *             (e.g. B_ENV=LOG_LEVEL=warn: the cost of the per-call log line)
 *   A_TRACING / B_TRACING = protobuf | json: that side traces every call (100 % sampling) and
 *             exports to a local OTLP/HTTP sink in that encoding (e.g. the same build twice,
 *             B_TRACING=protobuf: the cost of tracing on)
 *
 * The bare echo comes from A's build, or B's when A's has none (a commit from before it existed).
 *
 * Prints req/s, the ratio to the bare echo and the service's CPU per call (/proc, all threads).
 */
import { existsSync, readFileSync } from "node:fs";
import { createDatabase } from "./databases.js";
import { startOtlpSink, tracingEnv } from "./otlp-sink.js";
import { ECHO, type Load, type Protocol, seedService, TOKEN_PATH, unaryLoad } from "./scenarios.js";
import { builtIn, startBareEcho, startService } from "./service.js";

const [dirA, dirB, scenario = "current-user", protocolArg = "connect", dbArg = "sqlite", secondsArg = "20"] =
  process.argv.slice(2);
if (!dirA || !dirB) throw new Error("usage: compare.ts <buildA> <buildB> [scenario] [protocol] [database] [seconds]");
const protocol: Protocol = protocolArg === "grpc" ? "grpc" : "connect";
const kind = dbArg === "postgresql" ? "postgresql" : "sqlite";
const ROUNDS = 4;
const CONNECTIONS = 10;
const chosen = TOKEN_PATH.find((s) => s.key === scenario);
if (!chosen) throw new Error(`no scenario ${scenario}`);
const args = (v: string | undefined) => (v ?? "").split(" ").filter(Boolean);

function cpuMicros(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
}

const tracing = [process.env.A_TRACING, process.env.B_TRACING];
const extraEnv = (v: string | undefined): Record<string, string> =>
  Object.fromEntries(
    args(v).map((kv) => {
      const eq = kv.indexOf("=");
      if (eq <= 0) throw new Error(`A_ENV/B_ENV: "${kv}" is not NAME=value`);
      return [kv.slice(0, eq), kv.slice(eq + 1)];
    }),
  );
const sink = tracing.some(Boolean) ? await startOtlpSink() : undefined;
const bareBuild = existsSync(builtIn(dirA).bareEcho) ? builtIn(dirA) : builtIn(dirB);
const bare = await startBareEcho(bareBuild.bareEcho);
const dbs = [await createDatabase(kind), await createDatabase(kind)];
const services = [];
try {
  for (const [i, dir] of [dirA, dirB].entries()) {
    const encoding = tracing[i];
    services.push(
      await startService(builtIn(dir).service, {
        databaseUrl: dbs[i]?.url ?? "",
        nodeArgs: args(i === 0 ? process.env.A_NODE_ARGS : process.env.B_NODE_ARGS),
        env: {
          ...(sink && encoding ? tracingEnv(sink, encoding) : {}),
          ...extraEnv(i === 0 ? process.env.A_ENV : process.env.B_ENV),
        },
      }),
    );
  }
  const loads: Array<{ name: string; load: Load; pid: number }> = [
    { name: "bare echo", load: unaryLoad(bare.port, CONNECTIONS, protocol, ECHO), pid: bare.pid },
  ];
  for (const [i, s] of services.entries()) {
    const seed = await seedService(s.port, CONNECTIONS, `c${i}${Date.now().toString(36)}`);
    const side = i === 0 ? "A" : "B";
    loads.push({ name: `${side} in-service echo`, load: unaryLoad(s.port, CONNECTIONS, protocol, ECHO), pid: s.pid });
    loads.push({ name: `${side} ${chosen.name}`, load: chosen.load(seed, protocol), pid: s.pid });
  }
  for (const { load } of loads) await load(1);
  const sums = loads.map(() => ({ requests: 0, seconds: 0, cpu: 0, errors: 0 }));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, { load, pid }] of loads.entries()) {
      const before = cpuMicros(pid);
      const m = await load(Number(secondsArg) / ROUNDS);
      const sum = sums[i];
      if (!sum) continue;
      sum.cpu += cpuMicros(pid) - before;
      sum.requests += m.requests;
      sum.seconds += m.rps > 0 ? m.requests / m.rps : 0;
      sum.errors += m.errors;
    }
  }
  const rate = (i: number) => (sums[i]?.requests ?? 0) / (sums[i]?.seconds || 1);
  process.stdout.write(`${chosen.name} over ${protocol}, ${kind}; A = ${dirA}, B = ${dirB}\n`);
  for (const [i, { name }] of loads.entries()) {
    const s = sums[i];
    if (!s) continue;
    process.stdout.write(
      `${name.padEnd(26)} ${rate(i).toFixed(0).padStart(6)} req/s  ÷ bare ${(rate(i) / rate(0)).toFixed(2)}  CPU/call ${(s.cpu / Math.max(1, s.requests)).toFixed(0)} µs  errors ${s.errors}\n`,
    );
  }
  for (const [i, s] of services.entries())
    process.stdout.write(
      `${i === 0 ? "A" : "B"} resident memory ${s.rssMiB().toFixed(0)} MiB (peak ${s.peakRssMiB().toFixed(0)})\n`,
    );
  if (sink) {
    const { requests, bytes } = sink.received();
    process.stdout.write(`OTLP sink: ${requests} exports, ${(bytes / 2 ** 20).toFixed(1)} MiB\n`);
  }
} finally {
  for (const s of services) await s.stop();
  await bare.stop();
  await sink?.stop();
  for (const d of dbs) await d.drop();
}
