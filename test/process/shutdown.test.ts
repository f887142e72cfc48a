/**
 * The real process and real signals: what a Kubernetes rollout does to a pod.
 */

import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { authClient, connectTransport, grpcTransport } from "../helpers/clients.js";
import { Status, watchHealth } from "../helpers/health.js";
import { metricValue } from "../helpers/metrics.js";
import { type ServerProcess, spawnServer, uniqueUser } from "../helpers/server.js";
import { timed, waitFor } from "../helpers/wait.js";

const SHUTDOWN_TIMEOUT_MS = 15_000;
/** "Exits within the timeout": the drain budget plus start-up slack of tsx on a loaded machine. */
const EXIT_BOUND_MS = SHUTDOWN_TIMEOUT_MS + 5_000;

describe("process signals and crashes", () => {
  let dir: string;
  let proc: ServerProcess | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "warden-shutdown-"));
  });
  afterEach(async () => {
    if (proc && proc.child.exitCode === null) proc.child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string> = {}) => ({
    DATA_DIR: dir,
    DATABASE_URL: `sqlite:${join(dir, "warden.sqlite")}`,
    LOG_LEVEL: "info",
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    ...extra,
  });

  const exitWithin = (p: ServerProcess, ms: number) =>
    Promise.race([p.exited, new Promise<"still running">((r) => setTimeout(() => r("still running"), ms).unref())]);

  it("when SIGTERM arrives with slow logins in flight, then health turns NOT_SERVING, new calls are refused, the logins complete and the process exits 0", async () => {
    // Arrange: slow password hashing, so logins are surely in flight at the signal.
    proc = await spawnServer(env({ BCRYPT_ROUNDS: "13", BCRYPT_CONCURRENCY: "2" }));
    const p = proc;
    const user = uniqueUser("term");
    await authClient(connectTransport(p.baseUrl)).register(user);
    const watch = watchHealth(p.baseUrl);
    await waitFor("watch's first status", () => watch.statuses.length > 0);
    const logins = Array.from({ length: 4 }, (_, i) =>
      timed(() =>
        authClient(i % 2 ? grpcTransport(p.baseUrl) : connectTransport(p.baseUrl)).login({
          emailOrUsername: user.email,
          password: user.password,
        }),
      ),
    );
    await waitFor("a password hash in flight", async () => {
      const text = await (await fetch(`${p.baseUrl}/metrics`)).text();
      return (metricValue(text, "warden_password_hashes_active") ?? 0) > 0;
    });

    // Act
    const signalled = performance.now();
    p.child.kill("SIGTERM");
    await waitFor("shutdown begun", () => p.stdout.some((l) => l.includes('"message":"shutting down"')));
    const late = await timed(() =>
      authClient(connectTransport(p.baseUrl)).login({ emailOrUsername: user.email, password: user.password }),
    );

    // Assert: the call after the signal is refused, the ones before finish.
    expect(late.error).toBeInstanceOf(ConnectError);
    expect((late.error as ConnectError).code).toBe(Code.Unavailable);
    const done = await Promise.all(logins);
    for (const r of done) {
      expect(r.error).toBeUndefined();
      expect((r.value as { user?: { email: string } } | undefined)?.user?.email).toBe(user.email);
    }
    // Health: the Watch saw NOT_SERVING and was ended by the server, not cut.
    const ended = await watch.ended;
    expect(ended.error).toBeUndefined();
    expect(watch.statuses).toEqual([Status.SERVING, Status.NOT_SERVING]);
    // Exit 0, within the drain timeout.
    expect(await exitWithin(p, EXIT_BOUND_MS)).toBe(0);
    expect(performance.now() - signalled).toBeLessThan(EXIT_BOUND_MS);
    const lines = p.stdout.map((l) => JSON.parse(l) as { message: string });
    const messages = lines.map((l) => l.message);
    expect(messages.indexOf("health changed")).toBeGreaterThan(messages.indexOf("shutting down"));
    expect(messages.at(-1)).toBe("stopped");
  }, 90_000);

  it("when SIGINT arrives at an idle server, then it stops at once with exit code 0", async () => {
    proc = await spawnServer(env());
    proc.child.kill("SIGINT");
    expect(await exitWithin(proc, EXIT_BOUND_MS)).toBe(0);
    expect(proc.stdout.some((l) => l.includes('"signal":"SIGINT"'))).toBe(true);
  }, 60_000);

  it("when an error escapes every handler, then the process logs it as one JSON line and exits non-zero", async () => {
    // Injected into the service's own node process (not tsx's launcher): an
    // uncaught exception once the test creates a trigger file, that is after
    // the service is up however long start-up takes on a loaded machine.
    const injector = join(dir, `crash-${randomUUID()}.mjs`);
    const trigger = join(dir, `crash-now-${randomUUID()}`);
    await writeFile(
      injector,
      `import { existsSync } from "node:fs";\n` +
        `if (process.execArgv.some((a) => a.includes("tsx/dist/loader"))) {\n` +
        `  const t = setInterval(() => { if (existsSync(${JSON.stringify(trigger)})) { clearInterval(t); throw new Error("injected crash"); } }, 50);\n` +
        `  t.unref();\n` +
        `}\n`,
    );
    proc = await spawnServer(env({ NODE_OPTIONS: `--import=${injector}` }));
    await writeFile(trigger, "");
    const code = await exitWithin(proc, EXIT_BOUND_MS);
    expect(code).not.toBe(0);
    expect(code).not.toBe("still running");
    const crash = proc.stdout.filter((l) => l.includes('"message":"uncaught exception"'));
    expect(crash).toHaveLength(1);
    expect(JSON.parse(crash[0] as string)).toMatchObject({
      level: "error",
      error_name: "Error",
      error_message: "injected crash",
    });
  }, 60_000);
});
