import autocannon from "autocannon";
import type { Measurement } from "./measurement.js";

/**
 * Connect JSON over HTTP/1.1, driven by autocannon: closed loop, one call in
 * flight per connection, bounded by `durationS`.
 */

export interface HttpLoad {
  readonly port: number;
  readonly durationS: number;
  readonly connections: number;
  /** Procedure path, e.g. /auth.v1.AuthService/Login. */
  readonly path: string;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  /**
   * Builds each request's body (register's unique users, refresh's token
   * chain). `call` is per request: what nextBody puts there, onAnswer sees.
   */
  readonly nextBody?: (call: Record<string, unknown>) => unknown;
  /** Sees every answer (refresh feeds the returned token back). */
  readonly onAnswer?: (status: number, body: string, call: Record<string, unknown>) => void;
}

const JSON_HEADERS = { "content-type": "application/json", "connect-protocol-version": "1" };

export async function runHttpLoad(load: HttpLoad): Promise<Measurement> {
  const { nextBody, onAnswer } = load;
  const headers = { ...JSON_HEADERS, ...load.headers };
  const result = await autocannon({
    url: `http://127.0.0.1:${load.port}${load.path}`,
    method: "POST",
    connections: load.connections,
    duration: load.durationS,
    timeout: 10,
    headers,
    body: JSON.stringify(load.body ?? {}),
    ...(nextBody || onAnswer
      ? {
          requests: [
            {
              method: "POST",
              path: load.path,
              headers,
              ...(nextBody
                ? {
                    setupRequest: (req, call) => ({
                      ...req,
                      body: JSON.stringify(nextBody(call as Record<string, unknown>)),
                    }),
                  }
                : {}),
              ...(onAnswer
                ? {
                    onResponse: (status: number, body: string, call: object) =>
                      onAnswer(status, body, call as Record<string, unknown>),
                  }
                : {}),
            },
          ],
        }
      : {}),
  });
  const ok = result["2xx"];
  return {
    rps: ok / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx,
    requests: ok,
  };
}

/** One Connect JSON call (seeding, not measured). */
export async function connectCall<T>(
  port: number,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: "POST",
    headers: { ...JSON_HEADERS, ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${path} answered ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}
