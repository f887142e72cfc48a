import type net from "node:net";
import { clientKey } from "../net/ip-address.js";

export interface ConnectionGateOptions {
  /** Open connections of all clients together. */
  readonly max: number;
  /** Open connections of one client (an IPv4 address or an IPv6 /64). */
  readonly maxPerClient: number;
  /** Peers the per-client cap does not apply to (trusted proxies carry many clients). */
  readonly exempt?: (address: string) => boolean;
  /**
   * Told when connections are dropped, at most once a minute per cap, with
   * how many were dropped since the last report: dropping is silent on the
   * wire, so without a log line an operator would never learn why.
   */
  readonly onRefused?: (report: RefusalReport) => void;
}

export interface RefusalReport {
  readonly cap: "total" | "per_client";
  /** The client that hit the per-client cap (its address or IPv6 /64); the last one for "total". */
  readonly client: string;
  readonly refused: number;
}

/** One report a minute per cap is enough to notice, and bounded whatever the flood. */
const REPORT_EVERY_MS = 60_000;

export interface ConnectionGate {
  /** Admits a new connection, counting it until it closes; false means drop it. */
  admit(socket: net.Socket): boolean;
  readonly open: number;
  /** Connections dropped so far because a cap was reached. */
  readonly refused: number;
}

/**
 * Bounds the TCP connections a server holds, in total and per client, so
 * that no one peer can take all of them (each costs a socket, buffers and,
 * over HTTP/2, a session). Past a cap a connection is dropped before a byte
 * is read: nothing meaningful can be answered before the protocol is known.
 */
export function createConnectionGate(opts: ConnectionGateOptions): ConnectionGate {
  const perClient = new Map<string, number>();
  let open = 0;
  let refused = 0;
  const unreported = { total: 0, per_client: 0 };
  const lastReport = { total: Number.NEGATIVE_INFINITY, per_client: Number.NEGATIVE_INFINITY };
  const report = (cap: RefusalReport["cap"], client: string) => {
    unreported[cap]++;
    const now = performance.now();
    if (now - lastReport[cap] < REPORT_EVERY_MS) return;
    lastReport[cap] = now;
    opts.onRefused?.({ cap, client, refused: unreported[cap] });
    unreported[cap] = 0;
  };
  return {
    get open() {
      return open;
    },
    get refused() {
      return refused;
    },
    admit(socket) {
      const address = socket.remoteAddress ?? "unknown";
      const key = clientKey(address);
      const mine = perClient.get(key) ?? 0;
      const capped = !(opts.exempt?.(address) ?? false) && mine >= opts.maxPerClient;
      if (open >= opts.max || capped) {
        refused++;
        report(open >= opts.max ? "total" : "per_client", key);
        return false;
      }
      open++;
      perClient.set(key, mine + 1);
      socket.once("close", () => {
        open--;
        const left = (perClient.get(key) ?? 1) - 1;
        if (left > 0) perClient.set(key, left);
        else perClient.delete(key);
      });
      return true;
    },
  };
}
