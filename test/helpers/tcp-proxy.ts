import net from "node:net";

/**
 * - pass: forward both ways.
 * - refuse: reset every open connection and every new one (a stopped server).
 * - blackhole: accept, but never forward a byte again, not even on
 *   connections that were open before (a hung server or a lost network);
 *   those stay stalled after `pass` returns, as a peer that vanished would.
 */
export type ProxyMode = "pass" | "refuse" | "blackhole";

export interface TcpProxy {
  readonly port: number;
  readonly mode: ProxyMode;
  setMode(mode: ProxyMode): void;
  /** Connections the proxy holds open right now. */
  readonly openConnections: number;
  close(): Promise<void>;
}

interface Link {
  readonly client: net.Socket;
  upstream?: net.Socket;
  stalled: boolean;
}

/** A TCP proxy on a free loopback port whose failures a test switches on and off. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: ProxyMode = "pass";
  const links = new Set<Link>();

  const drop = (link: Link) => {
    link.client.resetAndDestroy();
    link.upstream?.destroy();
    links.delete(link);
  };
  const stall = (link: Link) => {
    link.stalled = true;
    link.client.unpipe();
    link.upstream?.unpipe();
    // Read and discard, so nothing flows and the sender never sees back-pressure or an error.
    link.client.removeAllListeners("data").on("data", () => undefined);
    link.upstream?.removeAllListeners("data").on("data", () => undefined);
  };

  const server = net.createServer((client) => {
    const link: Link = { client, stalled: false };
    links.add(link);
    client.on("error", () => undefined);
    client.once("close", () => {
      link.upstream?.destroy();
      links.delete(link);
    });
    if (mode === "refuse") return drop(link);
    if (mode === "blackhole") return stall(link);
    const upstream = net.connect(target.port, target.host);
    link.upstream = upstream;
    upstream.on("error", () => client.destroy());
    upstream.once("close", () => client.destroy());
    upstream.once("connect", () => {
      if (link.stalled) return;
      client.pipe(upstream);
      upstream.pipe(client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("proxy did not bind");

  return {
    port: address.port,
    get mode() {
      return mode;
    },
    get openConnections() {
      return links.size;
    },
    setMode(next) {
      mode = next;
      for (const link of [...links]) {
        if (next === "refuse") drop(link);
        else if (next === "blackhole" && !link.stalled) stall(link);
      }
    },
    async close() {
      for (const link of [...links]) drop(link);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
