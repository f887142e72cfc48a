import { mkdtemp, rm } from "node:fs/promises";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authClient, connectTransport } from "../helpers/clients.js";
import { grpcJsFailure } from "../helpers/errors.js";
import { metricValue } from "../helpers/metrics.js";
import { type ServerProcess, spawnServer, uniqueUser } from "../helpers/server.js";
import { waitFor } from "../helpers/wait.js";

/**
 * Item 1 of issue 10: one HTTP/2 connection must not exhaust the process.
 * Before the fix the server advertised SETTINGS_MAX_CONCURRENT_STREAMS
 * 2^32-1 and kept every Watch stream; 3000 of them on one connection ran a
 * process with the production heap cap out of memory.
 *
 * The service runs as its own process with `npm start`'s heap flags.
 */

const PRODUCTION_HEAP = "--max-old-space-size=128 --max-semi-space-size=4";
const WATCHES = 3000;
const PER_CLIENT = 20;

type WatchCall = grpc.ClientReadableStream<{ status: string }>;
type HealthStub = grpc.Client & {
  Watch(req: { service: string }): WatchCall;
  Check(req: { service: string }, cb: (e: grpc.ServiceError | null, r?: { status: string }) => void): void;
};

/** A grpc-js Health client on a connection of its own (no subchannel shared with other clients). */
function healthClient(port: number): HealthStub {
  const def = protoLoader.loadSync("grpc/health/v1/health.proto", {
    includeDirs: [join(import.meta.dirname, "..", "..", "proto")],
    keepCase: true,
    enums: String,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  return new pkg.grpc.health.v1.Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    "grpc.use_local_subchannel_pool": 1,
  }) as unknown as HealthStub;
}

const check = (client: HealthStub) =>
  new Promise<string>((resolve, reject) =>
    client.Check({ service: "" }, (e, r) => (e ? reject(e) : resolve(r?.status ?? ""))),
  );

async function memory(baseUrl: string) {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const mib = (name: string) => (metricValue(text, name) ?? Number.NaN) / 2 ** 20;
  return { rss: mib("process_resident_memory_bytes"), heap: mib("nodejs_heap_size_used_bytes") };
}

describe("a flood of Health/Watch streams on one HTTP/2 connection", () => {
  let dataDir: string;
  let server: ServerProcess;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "warden-flood-"));
    server = await spawnServer({
      DATA_DIR: dataDir,
      NODE_OPTIONS: PRODUCTION_HEAP,
      LOG_LEVEL: "info",
      HEALTH_WATCH_MAX_PER_CLIENT: String(PER_CLIENT),
    });
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("when the server is asked, then it advertises at most 100 concurrent streams per connection", async () => {
    const session = http2.connect(server.baseUrl);
    try {
      await new Promise<void>((resolve, reject) => {
        session.once("remoteSettings", () => resolve());
        session.once("error", reject);
      });
      expect(session.remoteSettings.maxConcurrentStreams).toBe(100);
    } finally {
      session.destroy();
    }
  });

  it(`when one connection opens ${WATCHES} Watch streams, then the process lives within its heap cap, past the cap Watches get RESOURCE_EXHAUSTED, another connection is served, and memory comes back down`, async () => {
    // The first Register starts the password-strength thread (~55 MiB, ended
    // after a minute idle): started before the baseline, so that the
    // Register during the flood below does not count as the flood's growth.
    const client = authClient(connectTransport(server.baseUrl));
    await client.register(uniqueUser());
    const before = await memory(server.baseUrl);
    const flooder = healthClient(server.port);
    const calls: WatchCall[] = [];
    let serving = 0;
    const refusals: grpc.ServiceError[] = [];
    const other: grpc.ServiceError[] = [];
    for (let i = 0; i < WATCHES; i++) {
      const call = flooder.Watch({ service: "" });
      call.once("data", () => serving++);
      call.on("error", (e: grpc.ServiceError) => {
        if (e.code === grpc.status.RESOURCE_EXHAUSTED) refusals.push(e);
        else if (e.code !== grpc.status.CANCELLED) other.push(e);
      });
      calls.push(call);
    }
    const started = performance.now();
    const progress = setInterval(
      () =>
        console.info(
          `t=${((performance.now() - started) / 1000).toFixed(0)}s serving ${serving} refused ${refusals.length} other ${other.length}`,
        ),
      5000,
    );
    try {
      await waitFor(
        "every Watch answered or refused",
        () => serving + refusals.length + other.length >= WATCHES,
        120_000,
      );
    } finally {
      clearInterval(progress);
    }
    const during = await memory(server.baseUrl);

    // Bounded: only the per-client allowance is held open; the rest were told to come back later.
    expect(other.map((e) => e.code)).toEqual([]);
    expect(serving).toBe(PER_CLIENT);
    expect(refusals).toHaveLength(WATCHES - PER_CLIENT);
    const refusal = grpcJsFailure(refusals[0]);
    expect(refusal.reason).toBe("RATE_LIMITED");
    expect(refusals[0]?.metadata.get("grpc-status-details-bin")).toHaveLength(1);

    // A second connection is served normally while the Watches stay open.
    const second = healthClient(server.port);
    try {
      expect(await check(second)).toBe("SERVING");
    } finally {
      second.close();
    }
    const u = uniqueUser();
    await client.register(u);
    expect((await client.login({ emailOrUsername: u.email, password: u.password })).user?.email).toBe(u.email);

    for (const call of calls) call.cancel();
    flooder.close();
    // Once the streams are gone their slots are free again: a new Watch is served.
    const again = healthClient(server.port);
    try {
      await waitFor(
        "a new Watch to be served after the flood",
        () =>
          new Promise<boolean>((resolve) => {
            const call = again.Watch({ service: "" });
            call.once("data", () => {
              call.cancel();
              resolve(true);
            });
            call.once("error", (e: grpc.ServiceError) => resolve(e.code === grpc.status.CANCELLED));
          }),
        15_000,
      );
    } finally {
      again.close();
    }
    const after = await memory(server.baseUrl);
    console.info(
      `Watch flood: RSS ${before.rss.toFixed(0)} → ${during.rss.toFixed(0)} → ${after.rss.toFixed(0)} MiB, heap used ${before.heap.toFixed(0)} → ${during.heap.toFixed(0)} → ${after.heap.toFixed(0)} MiB`,
    );
    expect(server.child.exitCode).toBeNull();
    // Within the heap cap, with room to spare, and no lasting growth.
    expect(during.heap).toBeLessThan(100);
    expect(after.heap).toBeLessThan(before.heap + 30);
    expect(after.rss).toBeLessThan(before.rss + 80);
  }, 180_000);
});
