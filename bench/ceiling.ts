import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import type { Measurement } from "./measurement.js";
import { ROOT } from "./service.js";

/**
 * Runs bcrypt-ceiling.ts in its own process (nothing else of the benchmark
 * shares its event loop or heap) with one operation in flight per core.
 */
export function bcryptCeiling(op: "compare" | "hash", rounds: number, durationMs: number): Promise<Measurement> {
  const tsx = join(ROOT, "node_modules", ".bin", "tsx");
  const args = [
    join(ROOT, "bench", "bcrypt-ceiling.ts"),
    op,
    String(rounds),
    String(durationMs),
    String(availableParallelism()),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), durationMs + 60_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`bcrypt ceiling failed (${code}): ${err}`));
      const r = JSON.parse(out) as { ops: number; rps: number; p50: number; p99: number };
      resolve({ rps: r.rps, p50: r.p50, p99: r.p99, errors: 0, requests: r.ops });
    });
  });
}
