/**
 * Child process: how many bcrypt operations this machine completes per second
 * with every core busy, using the same library and the same input shape as
 * the service (base64 HMAC-SHA-256 of the password, 44 bytes). This is the
 * ceiling Login and Register are divided by.
 *
 * argv: compare|hash  rounds  durationMs  concurrency. Prints one JSON line.
 */
import { createHmac, randomBytes } from "node:crypto";
import bcrypt from "bcrypt";

const [op = "compare", roundsArg = "12", durationArg = "3000", concurrencyArg = "2"] = process.argv.slice(2);
const rounds = Number(roundsArg);
const durationMs = Number(durationArg);
const concurrency = Number(concurrencyArg);

const prehash = (password: string) =>
  createHmac("sha256", "warden/password/v1").update(password, "utf8").digest("base64");
const input = prehash(`pw-${randomBytes(12).toString("hex")}`);
const stored = await bcrypt.hash(input, rounds);
const run = op === "hash" ? () => bcrypt.hash(input, rounds) : () => bcrypt.compare(input, stored).then(() => "");

const latencies: number[] = [];
const start = performance.now();
const end = start + durationMs;
async function worker() {
  while (performance.now() < end) {
    const t = performance.now();
    await run();
    if (performance.now() <= end) latencies.push(performance.now() - t);
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
const sorted = latencies.sort((a, b) => a - b);
const at = (q: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
process.stdout.write(
  `${JSON.stringify({ ops: latencies.length, rps: latencies.length / (durationMs / 1000), p50: at(0.5), p99: at(0.99) })}\n`,
);
