import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { ConnectNodeAdapterOptions } from "@connectrpc/connect-node";
import { createConnectionGate, type RefusalReport } from "./connection-gate.js";
import { guardSession, guardStream } from "./h2-guards.js";

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
  /** Open TCP connections. */
  readonly connections: number;
}

/**
 * What one client may hold (issue 10): every bound is a setting
 * (HTTP_* and HTTP2_* in .env.example).
 */
export interface ServerLimits {
  /** Open connections, all clients together. */
  readonly maxConnections: number;
  /** Open connections of one client (IPv4 address or IPv6 /64). */
  readonly maxConnectionsPerClient: number;
  /** Peers exempt from the per-client cap: the trusted proxies. */
  readonly isTrustedPeer?: (address: string) => boolean;
  /** SETTINGS_MAX_CONCURRENT_STREAMS of every HTTP/2 session. */
  readonly maxConcurrentStreams: number;
  /** Time for a connection's first bytes and an HTTP/1.1 request's headers; HTTP/2: its first stream. */
  readonly headersTimeoutMs: number;
  /** Time to receive a whole request, headers and body, on either protocol. */
  readonly requestTimeoutMs: number;
  /** An HTTP/2 session with no open stream is closed after this long. */
  readonly idleTimeoutMs: number;
  /** Told, at most once a minute per cap, that connections were dropped. */
  readonly onConnectionsRefused?: (report: RefusalReport) => void;
}

/** The HTTP/2 connection preface starts with these bytes; no HTTP/1 request does. */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0");

/**
 * One TCP port for HTTP/2 cleartext (prior knowledge: gRPC, grpcurl,
 * Kubernetes probes) and HTTP/1.1 (browsers, curl). Node's
 * `allowHTTP1` works only with TLS, so each connection's first bytes decide
 * which of two servers gets it.
 */
export function createServer(limits: ServerLimits, handler: NodeHandler): ServerHandle {
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

  const h1 = http.createServer(
    {
      keepAliveTimeout: 5_000,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // How often Node looks for requests past those two deadlines (its default, 30 s, would add up to that much).
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    track,
  );
  // Node starts enforcing headersTimeout and requestTimeout, and tracking
  // connections for closeIdleConnections(), when the server emits
  // "listening". This one never listens itself (the TCP server hands it its
  // connections), so without this those limits would silently not apply.
  h1.emit("listening");
  // The library default for SETTINGS_MAX_CONCURRENT_STREAMS is 2^32-1:
  // one connection could then hold any number of Watch streams.
  const h2 = http2.createServer({ settings: { maxConcurrentStreams: limits.maxConcurrentStreams } }, track);
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (s) => {
    sessions.add(s);
    s.once("close", () => sessions.delete(s));
    guardSession(s, { firstRequestTimeoutMs: limits.headersTimeoutMs, idleTimeoutMs: limits.idleTimeoutMs });
  });
  h2.on("stream", (stream: http2.ServerHttp2Stream) => guardStream(stream, limits.requestTimeoutMs));
  const sockets = new Set<net.Socket>();
  const gate = createConnectionGate({
    max: limits.maxConnections,
    maxPerClient: limits.maxConnectionsPerClient,
    exempt: limits.isTrustedPeer,
    onRefused: limits.onConnectionsRefused,
  });

  const tcp = net.createServer({ noDelay: true }, (socket) => {
    if (!gate.admit(socket)) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.setTimeout(limits.headersTimeoutMs, () => socket.destroy());
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
    get connections() {
      return gate.open;
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
      // Idle HTTP/1.1 keep-alive connections stay until the end: a request
      // on one gets a clean 503 (the app's shutdown gate, with
      // "Connection: close") instead of a reset socket.
      for (const s of sessions) s.close();
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(finish, timeoutMs);
          function finish() {
            clearTimeout(timer);
            drained = undefined;
            resolve();
          }
          drained = finish;
        });
      }
      h1.closeAllConnections();
      // Stops the deadline checks started by the "listening" above.
      h1.close();
      for (const s of sessions) s.destroy();
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
