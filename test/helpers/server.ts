import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { SpanProcessor } from "@opentelemetry/sdk-trace";
import { type App, createApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import type { Clock } from "../../src/domain/ports.js";
import { createTestDatabase, type TestDatabase } from "./databases.js";

/** Settings every test server gets unless a test overrides them: cheap bcrypt, quiet, loopback. */
export const TEST_ENV: Record<string, string> = {
  NODE_ENV: "test",
  HOST: "127.0.0.1",
  PORT: "0",
  BCRYPT_ROUNDS: "4",
  LOG_LEVEL: "debug",
  // Suites register and log in hundreds of users from 127.0.0.1; the per-address
  // limits are tested on their own in test/security with tight values.
  LOGIN_ADDRESS_LIMIT: "100000",
  REGISTER_ADDRESS_LIMIT: "100000",
  REGISTER_GLOBAL_LIMIT: "100000",
};

export interface TestServer {
  readonly app: App;
  readonly port: number;
  readonly baseUrl: string;
  readonly db: TestDatabase;
  readonly dataDir: string;
  /** Every log line written so far, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  /** Every log line written so far, raw. */
  readonly rawLogs: string[];
  close(): Promise<void>;
}

/**
 * Starts the whole service in this process on a free port, on its own fresh
 * database and data folder. `close()` stops it and drops both.
 */
export async function startServer(
  opts: {
    db?: "sqlite" | "postgresql" | TestDatabase;
    env?: Record<string, string>;
    keepDb?: boolean;
    clock?: Clock;
    /** Turns tracing on with this processor (an in-memory exporter) instead of an OTLP endpoint. */
    spanProcessor?: SpanProcessor;
  } = {},
): Promise<TestServer> {
  const db = typeof opts.db === "object" ? opts.db : await createTestDatabase(opts.db ?? "sqlite");
  const dataDir = opts.env?.DATA_DIR ?? (await mkdtemp(join(tmpdir(), "warden-data-")));
  const rawLogs: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const stream = new PassThrough();
  stream.on("data", (chunk: Buffer) => {
    for (const line of chunk.toString("utf8").split("\n")) {
      if (!line) continue;
      rawLogs.push(line);
      logs.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  const config = loadConfig({ ...TEST_ENV, DATABASE_URL: db.url, DATA_DIR: dataDir, ...opts.env });
  const app = await createApp(config, { logStream: stream, clock: opts.clock, spanProcessor: opts.spanProcessor });
  const port = await app.listen();
  return {
    app,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    db,
    dataDir,
    logs,
    rawLogs,
    async close() {
      await app.close();
      if (!opts.keepDb) {
        await db.drop();
        if (!opts.env?.DATA_DIR) await rm(dataDir, { recursive: true, force: true });
      }
    },
  };
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly baseUrl: string;
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const ROOT = join(import.meta.dirname, "..", "..");

/** `tsx src/main.ts` on Node 22 from node_modules, with the test settings under `env`. */
const spawnMain = (env: Record<string, string>) =>
  spawn(join(ROOT, "node_modules", ".bin", "tsx"), ["src/main.ts"], {
    cwd: ROOT,
    env: { PATH: `${join(ROOT, "node_modules", ".bin")}:${process.env.PATH ?? ""}`, ...TEST_ENV, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });

/**
 * Runs the service as a separate node process (`tsx src/main.ts`), for
 * what only a real process shows: signals, exit codes, restarts.
 * Resolves once it logs "listening", rejects if it exits first.
 */
export async function spawnServer(env: Record<string, string>, timeoutMs = 30_000): Promise<ServerProcess> {
  const child = spawnMain(env);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr.join("")}`)), timeoutMs);
    let buffer = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        stdout.push(line);
        if (line.includes('"message":"listening"')) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { port: number }).port);
        }
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString("utf8")));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${stderr.join("")}`));
    });
  });
  return {
    child,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    stdout,
    stderr,
    exited,
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs the service entry point and waits for it to exit (for start-up refusals). */
export function runToExit(
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnMain(env);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`did not exit: ${stdout}${stderr}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout });
    });
  });
}

/** The audit lines a server has logged so far, optionally of one event. */
export const auditLines = (server: TestServer, event?: string) =>
  server.logs.filter((l) => l.message === "audit" && (event === undefined || l.event === event));

export const uniqueUser = (prefix = "u") => {
  const id = randomUUID().slice(0, 8);
  return { email: `${prefix}-${id}@example.com`, username: `${prefix}_${id}`, password: `pw-${randomUUID()}` };
};

/** A clock tests can move forward: `clock.advance(ms)`. */
export function testClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    advance: (ms) => {
      offset += ms;
    },
  };
}
