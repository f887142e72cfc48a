/**
 * `npm run bench`: runs the benchmark suite and prints the table.
 *
 *   BENCH_DURATION=3.5 seconds per scenario      BENCH_REPEAT=3   repetitions (median reported)
 *   BENCH_PG=auto|0|1  PostgreSQL rows           BENCH_BCRYPT_ROUNDS=12
 *   BENCH_ONLY=cheap|hash  a subset, for quick iterations
 *   --out FILE         also write the report into FILE, between its bench:start/end markers
 *                      (repeatable: `--out bench/RESULTS.md --out README.md`)
 */
import { spawnSync } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { defaultOptions, runBench } from "./harness.js";
import { renderReport } from "./report.js";

const args = process.argv.slice(2);
const outs = args.flatMap((a, i) => (a === "--out" && args[i + 1] ? [args[i + 1] as string] : []));

const startedAt = new Date();
const t0 = performance.now();
const run = await runBench(defaultOptions());
const vars = ["BENCH_DURATION", "BENCH_REPEAT", "BENCH_PG", "BENCH_BCRYPT_ROUNDS", "BENCH_ONLY"].flatMap((k) =>
  process.env[k] ? [`${k}=${process.env[k]}`] : [],
);
const command = [...vars, "npm run bench", ...(outs.length ? ["--", ...outs.flatMap((o) => ["--out", o])] : [])].join(
  " ",
);
const report = renderReport(run, command, startedAt, (performance.now() - t0) / 1000);
process.stdout.write(`${report}\n`);
for (const out of outs) await writeReport(out, report);
// The README is under Biome's format check (CI's lint): lay the new table out as Biome would, or
// the next CI run fails on a file the benchmark wrote. Files Biome ignores are left as written.
if (outs.length > 0) {
  const biome = join(import.meta.dirname, "..", "node_modules", ".bin", "biome");
  const r = spawnSync(biome, ["format", "--write", "--no-errors-on-unmatched", ...outs], { encoding: "utf8" });
  if (r.status !== 0) process.stderr.write(`bench: biome format of ${outs.join(", ")} failed:\n${r.stdout}${r.stderr}`);
}

/** Replaces what lies between the bench markers of `path` (keeping notes around them), or writes the report alone. */
async function writeReport(path: string, text: string): Promise<void> {
  const START = "<!-- bench:start -->";
  const END = "<!-- bench:end -->";
  const old = await readFile(path, "utf8").catch(() => "");
  const from = old.indexOf(START);
  const to = old.indexOf(END);
  const next =
    from >= 0 && to > from
      ? `${old.slice(0, from + START.length)}\n${text}\n${old.slice(to)}`
      : `${START}\n${text}\n${END}\n`;
  await writeFile(path, next);
}
