import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { loadSync, type MethodDefinition } from "@grpc/proto-loader";
import type { Measurement } from "./measurement.js";
import { httpHealthCheck } from "./probe.js";
import { ROOT } from "./service.js";
import { quantile, sleep } from "./stats.js";

/**
 * gRPC over h2c, driven by @grpc/grpc-js (one HTTP/2 connection, N calls in
 * flight), and the health prober used while a login flood runs.
 */

const loaded = new Map<string, ReturnType<typeof loadSync>>();

/** A method of a service in `proto/` (path relative to it), for @grpc/grpc-js; definitions loaded once per file. */
export function grpcMethod(proto: string, service: string, name: string): MethodDefinition<object, object> {
  let defs = loaded.get(proto);
  if (!defs) {
    defs = loadSync(proto, { includeDirs: [join(ROOT, "proto")], longs: String, enums: String, defaults: true });
    loaded.set(proto, defs);
  }
  const def = defs[service];
  const m = def && name in def ? (def as Record<string, unknown>)[name] : undefined;
  if (!m || typeof m !== "object" || !("path" in m)) throw new Error(`no method ${service}/${name} in ${proto}`);
  return m as MethodDefinition<object, object>;
}

const HEALTH_CHECK = grpcMethod("grpc/health/v1/health.proto", "grpc.health.v1.Health", "Check");

export function grpcClient(port: number): grpc.Client {
  return new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

function unary(
  client: grpc.Client,
  m: MethodDefinition<object, object>,
  request: object,
  metadata: grpc.Metadata,
  timeoutMs: number,
): Promise<object> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      m.path,
      m.requestSerialize,
      m.responseDeserialize,
      request,
      metadata,
      { deadline: Date.now() + timeoutMs },
      (err, value) => (err || !value ? reject(err ?? new Error("empty answer")) : resolve(value)),
    );
  });
}

export interface GrpcLoad {
  readonly port: number;
  readonly durationS: number;
  readonly concurrency: number;
  readonly method: MethodDefinition<object, object>;
  readonly request: object;
  readonly metadata?: Record<string, string>;
}

/** Closed loop: `concurrency` calls in flight on one channel until the time is up. */
export async function runGrpcLoad(load: GrpcLoad): Promise<Measurement> {
  const client = grpcClient(load.port);
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(load.metadata ?? {})) md.set(k, v);
  // Connect first, so that the handshake is not inside the measured window.
  await unary(client, load.method, load.request, md, 5000);
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + load.durationS * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        await unary(client, load.method, load.request, md, 10_000);
        latencies.push(performance.now() - t);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: load.concurrency }, worker));
  const elapsedS = (performance.now() - start) / 1000;
  client.close();
  return {
    rps: latencies.length / elapsedS,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    errors,
    requests: latencies.length,
  };
}

/**
 * Calls health every `intervalMs` (one at a time, as a kubelet does) until the
 * time is up, and reports the latency of each answer. Uses
 * grpc.health.v1.Health/Check, or GET /health where the gRPC one is missing.
 */
export async function probeHealth(
  port: number,
  kind: "grpc" | "http",
  durationS: number,
  intervalMs: number,
): Promise<Measurement> {
  const client = kind === "grpc" ? grpcClient(port) : undefined;
  const md = new grpc.Metadata();
  const check = async (): Promise<boolean> => {
    if (!client) return (await httpHealthCheck(port, 2000)) === "serving";
    const r = (await unary(client, HEALTH_CHECK, { service: "" }, md, 2000)) as { status?: string };
    return r.status === "SERVING";
  };
  if (client) await check().catch(() => false);
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + durationS * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    const ok = await check().catch(() => false);
    const ms = performance.now() - t;
    if (ok) latencies.push(ms);
    else errors++;
    await sleep(Math.max(0, intervalMs - ms));
  }
  client?.close();
  const elapsedS = (performance.now() - start) / 1000;
  return {
    rps: latencies.length / elapsedS,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    errors,
    requests: latencies.length,
  };
}
