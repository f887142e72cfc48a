import { describe, expect, it } from "vitest";
import { runBench } from "../../bench/harness.js";
import { renderTable, summarize } from "../../bench/report.js";
import { ROWS } from "../../bench/scenarios.js";

/**
 * Keeps the benchmark harness from rotting: one short repetition of every
 * scenario against a real service process. No timing is asserted (the
 * machine is shared); only that every row is there with numbers.
 */
describe("bench harness", () => {
  it("when run for about a second per scenario, then the table has every scenario with numbers", async () => {
    const run = await runBench({
      durationS: 1,
      repeat: 1,
      // Cheaper hashes keep the seeding short; the code path is the same as at cost 12.
      rounds: 8,
      connections: 4,
      hashConnections: 4,
      postgres: "auto",
      progress: () => undefined,
    });
    const rows = summarize(run);
    const expected = Object.values(ROWS)
      .map((r) => r.scenario)
      .filter((s) => run.postgres || !s.includes("PostgreSQL"));
    expect(rows.map((r) => r.scenario)).toEqual(expect.arrayContaining(expected));

    for (const row of rows) {
      if (row.value !== undefined) {
        expect(row.value, row.scenario).toBeGreaterThan(0);
        continue;
      }
      expect(row.rps, row.scenario).toBeGreaterThan(0);
      expect(Number.isFinite(row.p50), row.scenario).toBe(true);
      expect(Number.isFinite(row.p99), row.scenario).toBe(true);
      expect(row.errors, row.scenario).toBe(0);
      if (row.goal.startsWith("ratio")) expect(row.ratio, row.scenario).toBeGreaterThan(0);
    }
    expect(rows.some((r) => r.scenario.startsWith("Start to SERVING"))).toBe(true);
    expect(rows.some((r) => r.scenario.startsWith("Resident memory"))).toBe(true);

    const table = renderTable(rows);
    for (const scenario of expected) expect(table).toContain(`| ${scenario} |`);
  }, 180_000);
});
