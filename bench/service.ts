import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { grpcHealthCheck, httpHealthCheck } from "./probe.js";
import { sleep } from "./stats.js";

export const ROOT = join(import.meta.dirname, "..");
export const NODE = join(ROOT, "node_modules", ".bin", "node");
/**
 * The benchmark's own build of the service, apart from dist/'s own files, and
 * inside this checkout: node_modules may be shared between checkouts (a
 * symlink), so a build under it would be overwritten by another checkout's
 * benchmark. Module resolution still finds ROOT/node_modules from here.
 */
const BUILD_DIR = join(ROOT, "dist", "bench-build");

/** What the benchmark runs: the service's bench entry and the bare echo server, both built by tsc. */
export interface BenchBuild {
  /** bench/service-main.js: src/main.ts's start-up plus the in-service echo. */
  readonly service: string;
  /** bench/bare-echo/server.js: the ceiling, with nothing of ours. */
  readonly bareEcho: string;
}

/** The entries of a build in `dir` (tsc -p bench/tsconfig.build.json --outDir dir). */
export const builtIn = (dir: string): BenchBuild => ({
  service: join(dir, "bench", "service-main.js"),
  bareEcho: join(dir, "bench", "bare-echo", "server.js"),
});

/**
 * Compiles the service the way `npm start` does (tsc, then plain node), into
 * a private folder, with the benchmark's two entries. Type errors are
 * reported but do not stop the build: tsc still emits, and a benchmark of
 * work in progress is still useful.
 */
export function buildService(): BenchBuild {
  const tsc = join(ROOT, "node_modules", ".bin", "tsc");
  const r = spawnSync(tsc, ["-p", join("bench", "tsconfig.build.json"), "--outDir", BUILD_DIR], {
    cwd: ROOT,
    encoding: "utf8",
  });
  const build = builtIn(BUILD_DIR);
  if (r.status !== 0)
    process.stderr.write(`bench: tsc reported errors (status ${r.status}); using what it emitted\n${r.stdout}`);
  for (const file of Object.values(build))
    if (!existsSync(file)) throw new Error(`build failed: ${r.stdout}${r.stderr}`);
  return build;
}

/** A free loopback port, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface ServiceProcess {
  readonly port: number;
  readonly pid: number;
  /** Milliseconds from spawn to the first SERVING health answer. */
  readonly startupMs: number;
  /** Resident set size now, in MiB (Linux /proc). */
  rssMiB(): number;
  /** The largest resident set size so far (VmHWM), in MiB. */
  peakRssMiB(): number;
  /** The service's log, for diagnosing errors. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * The node options of `npm start` (package.json), so that the benchmark runs
 * the service exactly as it is deployed; BENCH_NODE_OPTIONS overrides them.
 */
export function startNodeOptions(): string[] {
  if (process.env.BENCH_NODE_OPTIONS !== undefined) return process.env.BENCH_NODE_OPTIONS.split(" ").filter(Boolean);
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts?: Record<string, string> };
  const words = (pkg.scripts?.start ?? "").split(/\s+/);
  return words[0] === "node" ? words.slice(1).filter((w) => w.startsWith("--")) : [];
}

/**
 * Settings of every benchmarked service: loopback only, no rate limits.
 * NODE_ENV=test, not production, because production refuses
 * RATE_LIMIT_ENABLED=false; with a signing key and DATABASE_URL given, the
 * two modes run the same code.
 */
const BASE_ENV = {
  NODE_ENV: "test",
  HOST: "127.0.0.1",
  LOG_LEVEL: "info",
  BCRYPT_ROUNDS: "12",
  // A login flood is the point of the benchmark; the rate limiter would turn it into 429s.
  RATE_LIMIT_ENABLED: "false",
};

/**
 * Starts the built service as its own process on a fresh data folder and
 * times it to its first SERVING answer (gRPC Health/Check, or GET /health
 * before that exists), polled every 5 ms.
 */
export async function startService(
  main: string,
  opts: { databaseUrl: string; env?: Record<string, string>; nodeArgs?: string[]; timeoutMs?: number },
): Promise<ServiceProcess> {
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), "warden-bench-"));
  const logPath = join(dataDir, "service.log");
  const logFd = openSync(logPath, "a");
  const { privateKey } = generateKeyPairSync("ed25519");
  const started = performance.now();
  const child: ChildProcess = spawn(NODE, [...startNodeOptions(), ...(opts.nodeArgs ?? []), main], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      ...BASE_ENV,
      PORT: String(port),
      DATA_DIR: dataDir,
      DATABASE_URL: opts.databaseUrl,
      JWT_PRIVATE_KEY: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      MFA_ENCRYPTION_KEYS: `bench:${randomBytes(32).toString("base64")}`,
      ...opts.env,
    },
    stdio: ["ignore", logFd, logFd],
  });
  closeSync(logFd);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once("exit", () => {
      exited = true;
      resolve();
    }),
  );
  const log = () => readFileSync(logPath, "utf8");

  const deadline = started + (opts.timeoutMs ?? 30_000);
  let startupMs = Number.NaN;
  let useHttp = false;
  while (performance.now() < deadline && !exited) {
    const answer = useHttp ? await httpHealthCheck(port, 500) : await grpcHealthCheck(port, 500);
    if (answer === "serving") {
      startupMs = performance.now() - started;
      break;
    }
    if (answer === "unimplemented") {
      useHttp = true;
      continue;
    }
    await sleep(5);
  }
  const stop = async () => {
    if (!exited) child.kill("SIGTERM");
    const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exit;
    clearTimeout(killer);
    await rm(dataDir, { recursive: true, force: true });
  };
  if (Number.isNaN(startupMs)) {
    const text = log();
    await stop();
    throw new Error(`service did not become SERVING:\n${text.slice(-2000)}`);
  }
  const pid = child.pid ?? -1;
  return {
    port,
    pid,
    startupMs,
    rssMiB: () => statusMiB(pid, "VmRSS"),
    peakRssMiB: () => statusMiB(pid, "VmHWM"),
    log,
    stop,
  };
}

function statusMiB(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m?.[1] ? Number(m[1]) / 1024 : Number.NaN;
}

export interface BareEchoProcess {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Starts the bare echo server (bench/bare-echo/server.ts) with the same node
 * options as the service, and waits for its `listening <port>` line.
 */
export async function startBareEcho(
  script: string,
  opts: { nodeArgs?: string[]; timeoutMs?: number } = {},
): Promise<BareEchoProcess> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const child = spawn(NODE, [...startNodeOptions(), ...(opts.nodeArgs ?? []), script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", NODE_ENV: "production", HOST: "127.0.0.1", PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exit = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let err = "";
  child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("bare echo server did not start")), timeoutMs);
    child.stdout?.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /^listening (\d+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`bare echo server exited (${code}): ${err.slice(-2000)}`));
    });
  }).catch(async (e: unknown) => {
    child.kill("SIGKILL");
    await exit;
    throw e;
  });
  return {
    port,
    pid: child.pid ?? -1,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exit;
      clearTimeout(killer);
    },
  };
}
