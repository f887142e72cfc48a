/**
 * `npx tsx bench/profile.ts <scenario> [seconds]`: runs one load against a
 * service started with --cpu-prof and prints the functions with the most
 * self time (and the .cpuprofile path, for Chrome DevTools).
 * Scenarios: echo, current-user, refresh, login.
 */
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createDatabase } from "./databases.js";
import { runHttpLoad } from "./http-load.js";
import { registerUsers } from "./scenarios.js";
import { buildService, startService } from "./service.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const [scenario = "current-user", secondsArg = "5", dbKind = "sqlite"] = process.argv.slice(2);
const durationS = Number(secondsArg);
const dir = await mkdtemp(join(tmpdir(), "warden-prof-"));
const build = buildService();
const db = await createDatabase(dbKind === "postgresql" ? "postgresql" : "sqlite");
const service = await startService(build.service, {
  databaseUrl: db.url,
  nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${dir}`],
});
try {
  const tokens = await registerUsers(service.port, 14, `p${Date.now().toString(36)}`);
  const pool = tokens.map((t) => t.refreshToken);
  const access = tokens[0]?.accessToken ?? "";
  const AUTH = "/auth.v1.AuthService";
  const m =
    scenario === "echo"
      ? await runHttpLoad({
          port: service.port,
          durationS,
          connections: 10,
          path: "/bench.v1.EchoService/Echo",
          body: { message: "hello" },
        })
      : scenario === "refresh"
        ? await runHttpLoad({
            port: service.port,
            durationS,
            connections: 10,
            path: `${AUTH}/Refresh`,
            nextBody: () => ({ refreshToken: pool.shift() ?? "" }),
            onAnswer: (status, body) => {
              if (status === 200)
                pool.push((JSON.parse(body) as { tokens: { refreshToken: string } }).tokens.refreshToken);
            },
          })
        : await runHttpLoad({
            port: service.port,
            durationS,
            connections: 10,
            path: `${AUTH}/GetCurrentUser`,
            headers: { authorization: `Bearer ${access}` },
          });
  process.stdout.write(
    `${scenario}: ${m.rps.toFixed(0)} req/s, p50 ${m.p50} ms, p99 ${m.p99} ms, errors ${m.errors}; rss ${service.rssMiB().toFixed(0)} MiB\n`,
  );
} finally {
  await service.stop();
  await db.drop();
}

const file = (await readdir(dir)).find((f) => f.endsWith(".cpuprofile"));
if (!file) throw new Error("no profile written");
const profile = JSON.parse(await readFile(join(dir, file), "utf8")) as { nodes: ProfileNode[] };
const total = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0);
const byFn = new Map<string, number>();
for (const n of profile.nodes) {
  const url = n.callFrame.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*warden-bench\//, "");
  const key = `${n.callFrame.functionName || "(anonymous)"} ${url}:${n.callFrame.lineNumber + 1}`;
  byFn.set(key, (byFn.get(key) ?? 0) + (n.hitCount ?? 0));
}
const top = [...byFn.entries()].sort((a, b) => b[1] - a[1]).slice(0, 35);
for (const [k, v] of top) process.stdout.write(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}\n`);
process.stdout.write(`profile: ${join(dir, file)}\n`);
