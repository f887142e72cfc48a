import { beforeAll, describe, expect, it } from "vitest";
import { runBench } from "../../bench/harness.js";
import { renderTable, summarize } from "../../bench/report.js";
import { ECHO, ROWS, rowId, unaryLoad } from "../../bench/scenarios.js";
import { type BenchBuild, buildService, startBareEcho } from "../../bench/service.js";

/**
 * Keeps the benchmark harness from rotting: the bare echo server answers on
 * both protocols, and one short repetition of every scenario runs against a
 * real service process. No timing is asserted (the machine is shared); only
 * that every row is there with numbers.
 */
describe("bench harness", () => {
  let build: BenchBuild;
  beforeAll(() => {
    build = buildService();
  }, 120_000);

  it("when the bare echo server runs, then it answers Echo over Connect JSON and gRPC on one port", async () => {
    const bare = await startBareEcho(build.bareEcho);
    try {
      const res = await fetch(`http://127.0.0.1:${bare.port}/bench.v1.EchoService/Echo`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ message: "hello" }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ message: "hello" });
      for (const protocol of ["connect", "grpc"] as const) {
        const m = await unaryLoad(bare.port, 2, protocol, ECHO)(0.3);
        expect(m.requests, protocol).toBeGreaterThan(0);
        expect(m.errors, protocol).toBe(0);
      }
    } finally {
      await bare.stop();
    }
  }, 30_000);

  it("when run for about a second per scenario, then the table has every scenario with numbers", async () => {
    const run = await runBench({
      durationS: 1,
      repeat: 1,
      // Cheaper hashes keep the seeding short; the code path is the same as at cost 12.
      rounds: 8,
      connections: 4,
      hashConnections: 4,
      postgres: "auto",
      build,
      progress: () => undefined,
    });
    const rows = summarize(run);
    const expected = ROWS.map((r) => r.scenario).filter((s) => run.postgres || !s.includes("PostgreSQL"));
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
    // Every token-path row is divided by the bare echo measured in the same rounds.
    const bare = run.repetitions[0]?.rows.find((r) => r.id === rowId.bareEcho("connect"));
    expect(bare?.measurement.rps).toBeGreaterThan(0);
    const currentUser = run.repetitions[0]?.rows.find(
      (r) => r.id === rowId.tokenPath("current-user", "sqlite", "connect"),
    );
    expect(currentUser?.ceiling).toBe(bare?.measurement);
    expect(currentUser?.inService?.rps).toBeGreaterThan(0);
    expect(rows.some((r) => r.scenario.startsWith("Start to SERVING"))).toBe(true);
    expect(rows.some((r) => r.scenario.startsWith("Resident memory"))).toBe(true);

    const table = renderTable(rows);
    for (const scenario of expected) expect(table).toContain(`| ${scenario} |`);
  }, 180_000);
});
