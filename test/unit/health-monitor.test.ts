import { PassThrough } from "node:stream";
import { ConnectionException } from "@mikro-orm/core";
import { describe, expect, it } from "vitest";
import { createDbGuard } from "../../src/db/resilience.js";
import { createHealthMonitor } from "../../src/health/health-monitor.js";
import { createLogger } from "../../src/logger.js";

const monitorWith = (probe: () => Promise<unknown>) =>
  createHealthMonitor({
    probe,
    guard: createDbGuard({ timeoutMs: 200, breakerThreshold: 5, halfOpenAfterMs: 1000 }),
    logger: createLogger("error", new PassThrough()),
  });

describe("health monitor", () => {
  it("when the database stops answering, then subscribers hear NOT_SERVING once", async () => {
    let up = true;
    const monitor = monitorWith(async () => {
      if (!up) throw new ConnectionException(new Error("refused"));
    });
    const heard: boolean[] = [];
    monitor.subscribe((s) => heard.push(s));
    up = false;
    await monitor.probe();
    expect(monitor.serving).toBe(false);
    expect(heard).toEqual([false]);
  });

  it("when shutdown comes while already NOT_SERVING, then subscribers are still told, so Watch streams can end", async () => {
    const monitor = monitorWith(() => Promise.reject(new ConnectionException(new Error("refused"))));
    await monitor.probe();
    expect(monitor.serving).toBe(false);
    const heard: boolean[] = [];
    monitor.subscribe((s) => heard.push(s));
    monitor.shutdown();
    expect(monitor.shuttingDown).toBe(true);
    expect(heard).toEqual([false]);
  });
});
