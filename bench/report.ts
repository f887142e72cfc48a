import { cpus, loadavg, release, totalmem } from "node:os";
import type { BenchRun } from "./harness.js";
import type { Measurement } from "./measurement.js";
import { ROWS } from "./scenarios.js";
import { median, spread } from "./stats.js";

/** One printed row: medians over the repetitions, and the spread of the number the goal is about. */
export interface ReportRow {
  readonly scenario: string;
  readonly rps?: number;
  readonly p50?: number;
  readonly p99?: number;
  readonly errors?: number;
  /** Throughput of the ceiling (median). */
  readonly ceilingRps?: number;
  readonly ratio?: number;
  /** Token-path rows: throughput ÷ the in-service echo's in the same rounds ("handler cost"). */
  readonly inServiceRatio?: number;
  /** Value for the process rows (ms or MiB). */
  readonly value?: number;
  readonly spread: { min: number; max: number };
  readonly goal: string;
  readonly met?: boolean;
}

const pick = (ms: Measurement[], f: (m: Measurement) => number) => median(ms.map(f));

export const START_GOAL_MS = 1500;
export const RSS_GOAL_MIB = 150;

export function summarize(run: BenchRun): ReportRow[] {
  const out: ReportRow[] = [];
  for (const { id, scenario, goal } of ROWS) {
    const samples = run.repetitions.flatMap((r) => r.rows.filter((s) => s.id === id));
    if (samples.length === 0) continue;
    const ms = samples.map((s) => s.measurement);
    const ceilings = samples.flatMap((s) => (s.ceiling ? [s.ceiling] : []));
    const ratios = samples.flatMap((s) => (s.ceiling ? [s.measurement.rps / s.ceiling.rps] : []));
    const inService = samples.flatMap((s) => (s.inService ? [s.measurement.rps / s.inService.rps] : []));
    const base = {
      scenario,
      rps: pick(ms, (m) => m.rps),
      p50: pick(ms, (m) => m.p50),
      p99: pick(ms, (m) => m.p99),
      errors: pick(ms, (m) => m.errors),
      ...(inService.length ? { inServiceRatio: median(inService) } : {}),
    };
    if (ratios.length > 0) {
      const ratio = median(ratios);
      const atLeast = goal && "ratioAtLeast" in goal ? goal.ratioAtLeast : undefined;
      out.push({
        ...base,
        ceilingRps: pick(ceilings, (m) => m.rps),
        ratio,
        spread: spread(ratios),
        goal: atLeast === undefined ? "" : `ratio ≥ ${atLeast}`,
        met: atLeast === undefined ? undefined : ratio >= atLeast,
      });
    } else if (goal && "p99AtMost" in goal) {
      out.push({
        ...base,
        spread: spread(ms.map((m) => m.p99)),
        goal: `p99 ≤ ${goal.p99AtMost} ms`,
        met: base.p99 <= goal.p99AtMost,
      });
    } else {
      out.push({ ...base, spread: spread(ms.map((m) => m.rps)), goal: "" });
    }
  }
  for (const db of ["sqlite", "postgresql"] as const) {
    const ps = run.repetitions.flatMap((r) => r.processes.filter((p) => p.database === db));
    if (ps.length === 0) continue;
    const start = ps.map((p) => p.startupMs);
    const rss = ps.map((p) => p.rssMiB);
    out.push({
      scenario: `Start to SERVING (${db})`,
      value: median(start),
      spread: spread(start),
      goal: `≤ ${START_GOAL_MS} ms`,
      met: median(start) <= START_GOAL_MS,
    });
    out.push({
      scenario: `Resident memory at the end (${db})`,
      value: median(rss),
      spread: spread(rss),
      goal: `≤ ${RSS_GOAL_MIB} MiB`,
      met: median(rss) <= RSS_GOAL_MIB,
    });
    const peak = ps.map((p) => p.peakRssMiB);
    out.push({ scenario: `Peak resident memory (${db})`, value: median(peak), spread: spread(peak), goal: "" });
  }
  return out;
}

const isMemory = (r: ReportRow) => r.scenario.includes("resident memory") || r.scenario.startsWith("Resident");
const num = (v: number | undefined, digits = 0) => (v === undefined || Number.isNaN(v) ? "" : v.toFixed(digits));
const ms = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? "" : v < 10 ? v.toFixed(1) : v.toFixed(0));

/** The table as Markdown, one line per row. */
export function renderTable(rows: readonly ReportRow[]): string {
  const lines = [
    "| scenario | req/s | p50 ms | p99 ms | errors | ceiling req/s | ratio | spread (min–max) | ÷ in-service echo | goal | met |",
    "|---|---:|---:|---:|---:|---:|---:|---|---:|---|:-:|",
  ];
  for (const r of rows) {
    const isValue = r.value !== undefined;
    const isRatio = r.ratio !== undefined;
    const isLatency = r.goal.startsWith("p99");
    const digits = isRatio ? 2 : isLatency ? 1 : 0;
    const spreadText = `${num(r.spread.min, digits)}–${num(r.spread.max, digits)}${isValue ? (isMemory(r) ? " MiB" : " ms") : isLatency ? " ms (p99)" : isRatio ? "" : " req/s"}`;
    const rps = isValue
      ? isMemory(r)
        ? `${num(r.value)} MiB`
        : `${num(r.value)} ms`
      : num(r.rps, r.rps !== undefined && r.rps < 100 ? 1 : 0);
    lines.push(
      `| ${r.scenario} | ${rps} | ${ms(r.p50)} | ${ms(r.p99)} | ${num(r.errors)} | ${num(r.ceilingRps, r.ceilingRps !== undefined && r.ceilingRps < 100 ? 1 : 0)} | ${num(r.ratio, 2)} | ${spreadText} | ${num(r.inServiceRatio, 2)} | ${r.goal} | ${r.met === undefined ? "" : r.met ? "yes" : "**no**"} |`,
    );
  }
  return lines.join("\n");
}

/** What the numbers were measured on. */
export function describeMachine(): string {
  const c = cpus();
  return [
    `- CPU: ${c.length} × ${c[0]?.model ?? "unknown"}; RAM ${(totalmem() / 2 ** 30).toFixed(1)} GiB; Linux ${release()}`,
    `- Node ${process.version}; load average at the start ${loadavg()
      .map((l) => l.toFixed(2))
      .join(", ")}`,
  ].join("\n");
}

export function renderReport(run: BenchRun, command: string, startedAt: Date, elapsedS: number): string {
  const o = run.options;
  return [
    `Measured ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC with \`${command}\` (${elapsedS.toFixed(0)} s in all).`,
    "",
    describeMachine(),
    `- ${o.repeat} repetition(s) × ${o.durationS} s per scenario; bcrypt cost ${o.rounds}; ${o.connections} connections (cheap RPCs), ${o.hashConnections} (bcrypt-bound RPCs); PostgreSQL ${run.postgres ? "included" : "skipped"}`,
    '- Medians of the repetitions; the spread column is the range of the number the goal is about. Ceiling of every RPC row: the bare echo server (bench/bare-echo, its own process, nothing of ours), in interleaved rounds; "÷ in-service echo": the same RPC divided by the echo served through our own front, interceptors and log line (handler cost only).',
    "",
    renderTable(summarize(run)),
  ].join("\n");
}
