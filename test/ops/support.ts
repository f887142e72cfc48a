import { type Client, createClient } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { grpcTransport } from "../helpers/clients.js";

export { Status };

export type HealthClient = Client<typeof Health>;

export const healthClient = (baseUrl: string): HealthClient => createClient(Health, grpcTransport(baseUrl));

export interface HealthWatch {
  /** Every status received so far, in order. */
  readonly statuses: Status[];
  /** Resolves when the server ends the stream (or it fails). */
  readonly ended: Promise<{ error?: unknown }>;
  stop(): void;
}

/** Opens a grpc.health.v1.Health/Watch stream and records what it reports. */
export function watchHealth(baseUrl: string, service = ""): HealthWatch {
  const statuses: Status[] = [];
  const abort = new AbortController();
  const ended = (async () => {
    try {
      for await (const res of healthClient(baseUrl).watch({ service }, { signal: abort.signal }))
        statuses.push(res.status);
      return {};
    } catch (error) {
      return { error };
    }
  })();
  return { statuses, ended, stop: () => abort.abort() };
}

/** Polls until `check` returns true; fails after `timeoutMs` (a bound that proves nothing hangs). */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Timed<T> {
  readonly ms: number;
  readonly value?: T;
  readonly error?: unknown;
}

/** Runs a call and records how long it took and how it ended. */
export async function timed<T>(call: () => Promise<T>): Promise<Timed<T>> {
  const started = performance.now();
  try {
    const value = await call();
    return { ms: performance.now() - started, value };
  } catch (error) {
    return { ms: performance.now() - started, error };
  }
}

/** The value of one un-labelled sample in a Prometheus text exposition. */
export function metricValue(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}
