import http from "node:http";
import type { HttpRoute } from "./http-util.js";

export interface MetricsServer {
  /** Starts listening; resolves with the bound port (useful with port 0). */
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
  /** The bound port once listening. */
  readonly port: number | undefined;
}

/**
 * GET /metrics on a port of its own (METRICS_PORT), plain HTTP/1.1 and
 * nothing else: the production choice, since the port can stay inside the
 * cluster network (a NetworkPolicy, no Service or ingress) while the main
 * port faces clients. Anything else on it is 404.
 */
export function createMetricsServer(route: HttpRoute): MetricsServer {
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    Promise.resolve(
      route(req, res, {
        requestId: "",
        clientAddress: req.socket.remoteAddress ?? "unknown",
        userAgent: "",
        startedAt: performance.now(),
      }),
    )
      .then((served) => {
        if (served) return;
        res.statusCode = 404;
        res.end();
      })
      .catch(() => {
        if (!res.headersSent) res.statusCode = 500;
        res.end();
      });
  });
  let port: number | undefined;
  return {
    get port() {
      return port;
    },
    listen(wanted, host) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(wanted, host, () => {
          server.off("error", reject);
          const addr = server.address();
          port = typeof addr === "object" && addr ? addr.port : wanted;
          resolve(port);
        });
      });
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
