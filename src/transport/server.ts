import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";

/** Requests and responses of either server, as Connect's node adapter types them. */
type NodeHandlerFn = NonNullable<ConnectNodeAdapterOptions["fallback"]>;
export type NodeRequest = Parameters<NodeHandlerFn>[0];
export type NodeResponse = Parameters<NodeHandlerFn>[1];
export type NodeHandler = (req: NodeRequest, res: NodeResponse) => void;

export interface ServerHandle {
  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(port: number, host: string): Promise<number>;
  /**
   * Stops accepting connections, lets calls in flight finish for up to
   * `timeoutMs`, then closes whatever is left.
   */
  close(timeoutMs: number): Promise<void>;
  /** Requests being served right now. */
  readonly inflight: number;
}

/** The HTTP/2 connection preface starts with these bytes; no HTTP/1 request does. */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0");
/** A connection that sends nothing is dropped after this long. */
const FIRST_BYTES_TIMEOUT_MS = 10_000;

/**
 * One TCP port for HTTP/2 cleartext (prior knowledge: gRPC, grpcurl,
 * Kubernetes probes) and HTTP/1.1 (browsers, curl). Node's
 * `allowHTTP1` works only with TLS, so each connection's first bytes decide
 * which of two servers gets it.
 */
export function createServer(handler: NodeHandler): ServerHandle {
  let inflight = 0;
  let drained: (() => void) | undefined;
  const track: NodeHandler = (req, res) => {
    inflight++;
    res.once("close", () => {
      inflight--;
      if (inflight === 0) drained?.();
    });
    handler(req, res);
  };

  const h1 = http.createServer({ keepAliveTimeout: 5_000, headersTimeout: 15_000, requestTimeout: 60_000 }, track);
  const h2 = http2.createServer({}, track);
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
  });
  const sockets = new Set<net.Socket>();

  const tcp = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.setTimeout(FIRST_BYTES_TIMEOUT_MS, () => socket.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      // Decide once the bytes seen either match the preface so far or differ from it.
      const n = Math.min(head.length, H2_PREFACE.length);
      const isH2Prefix = head.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isH2Prefix && n < H2_PREFACE.length) return;
      socket.off("data", onData);
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(head);
      (isH2Prefix ? h2 : h1).emit("connection", socket);
      process.nextTick(() => socket.resume());
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  });

  return {
    get inflight() {
      return inflight;
    },
    listen(port, host) {
      return new Promise((resolve, reject) => {
        tcp.once("error", reject);
        tcp.listen(port, host, () => {
          tcp.off("error", reject);
          const addr = tcp.address();
          resolve(typeof addr === "object" && addr ? addr.port : port);
        });
      });
    },
    async close(timeoutMs) {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()));
      // GOAWAY: HTTP/2 clients finish their streams and open no new ones here.
      for (const s of sessions) s.close();
      h1.closeIdleConnections();
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          // Keep-alive connections that go idle while draining are closed as they do.
          const idle = setInterval(() => h1.closeIdleConnections(), 50);
          const timer = setTimeout(finish, timeoutMs);
          function finish() {
            clearInterval(idle);
            clearTimeout(timer);
            drained = undefined;
            resolve();
          }
          drained = finish;
        });
      }
      h1.closeAllConnections();
      for (const s of sessions) s.destroy();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
