import { type Client, createClient } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { grpcTransport } from "./clients.js";

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
