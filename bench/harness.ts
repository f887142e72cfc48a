import { availableParallelism } from "node:os";
import { createDatabase, postgresReachable } from "./databases.js";
import { hashRows, type ScenarioSettings, tokenPathRows } from "./rounds.js";
import type { RowSample } from "./scenarios.js";
import { type BenchBuild, buildService, startBareEcho, startService } from "./service.js";

export interface BenchOptions extends ScenarioSettings {
  readonly repeat: number;
  /** Run the PostgreSQL rows: "auto" when the server answers. */
  readonly postgres: boolean | "auto";
  /** Only the cheap-RPC rows or only the bcrypt-bound rows (for quick iterations); both by default. */
  readonly only?: "cheap" | "hash";
  /** A build to reuse (the smoke test builds once for two tests); built afresh by default. */
  readonly build?: BenchBuild;
  /** Progress lines (to stderr by default). */
  readonly progress?: (line: string) => void;
}

/** Process-level numbers of one service run. */
export interface ProcessSample {
  readonly database: "sqlite" | "postgresql";
  readonly startupMs: number;
  readonly rssMiB: number;
  readonly peakRssMiB: number;
}

export interface Repetition {
  readonly rows: RowSample[];
  readonly processes: ProcessSample[];
}

export interface BenchRun {
  readonly options: Omit<BenchOptions, "progress" | "build">;
  readonly postgres: boolean;
  readonly repetitions: Repetition[];
}

export const defaultOptions = (env: NodeJS.ProcessEnv = process.env): BenchOptions => ({
  durationS: Number(env.BENCH_DURATION ?? 3.5),
  repeat: Number(env.BENCH_REPEAT ?? 3),
  rounds: Number(env.BENCH_BCRYPT_ROUNDS ?? 12),
  connections: Number(env.BENCH_CONNECTIONS ?? 10),
  // Twice the hashes that can run at once: the queue never runs dry, and no call waits long.
  hashConnections: Number(env.BENCH_HASH_CONNECTIONS ?? 2 * availableParallelism() + 2),
  postgres: env.BENCH_PG === "0" ? false : env.BENCH_PG === "1" ? true : "auto",
  only: env.BENCH_ONLY === "cheap" || env.BENCH_ONLY === "hash" ? env.BENCH_ONLY : undefined,
});

/**
 * The whole benchmark: builds the service and the bare echo server once,
 * starts the bare echo (stateless, so one process serves every repetition),
 * then per repetition starts the service fresh on SQLite (every row) and on
 * PostgreSQL (the token path), each on a new database that is dropped
 * afterwards. Everything is bounded by `durationS` per scenario; nothing is
 * left running.
 */
export async function runBench(opts: BenchOptions): Promise<BenchRun> {
  const say = opts.progress ?? ((line: string) => process.stderr.write(`${line}\n`));
  const usePg = opts.postgres === "auto" ? await postgresReachable() : opts.postgres;
  if (!usePg) say("bench: PostgreSQL not used (unreachable or BENCH_PG=0); its rows are skipped");
  if (!opts.build) say("bench: building the service (tsc)");
  const build = opts.build ?? buildService();
  const env = { BCRYPT_ROUNDS: String(opts.rounds) };
  const repetitions: Repetition[] = [];
  const bareEcho = await startBareEcho(build.bareEcho);
  try {
    for (let rep = 1; rep <= opts.repeat; rep++) {
      const rows: RowSample[] = [];
      const processes: ProcessSample[] = [];
      for (const kind of usePg ? (["sqlite", "postgresql"] as const) : (["sqlite"] as const)) {
        say(`bench: repetition ${rep}/${opts.repeat}, ${kind}`);
        const db = await createDatabase(kind);
        try {
          const service = await startService(build.service, { databaseUrl: db.url, env });
          try {
            if (opts.only !== "hash") rows.push(...(await tokenPathRows(service.port, bareEcho.port, opts, kind)));
            if (kind === "sqlite" && opts.only !== "cheap") rows.push(...(await hashRows(service.port, opts)));
            processes.push({
              database: kind,
              startupMs: service.startupMs,
              rssMiB: service.rssMiB(),
              peakRssMiB: service.peakRssMiB(),
            });
          } catch (e) {
            say(`bench: service log tail:\n${service.log().slice(-3000)}`);
            throw e;
          } finally {
            await service.stop();
          }
        } finally {
          await db.drop();
        }
      }
      repetitions.push({ rows, processes });
    }
  } finally {
    await bareEcho.stop();
  }
  const { progress: _progress, build: _build, ...options } = opts;
  return { options, postgres: usePg, repetitions };
}
