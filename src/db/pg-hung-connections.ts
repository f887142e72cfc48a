import type pg from "pg";

const isReadTimeout = (e: unknown): boolean => e instanceof Error && e.message === "Query read timeout";

/**
 * pg's `query_timeout` rejects a query that gets no answer, but leaves the
 * connection in the pool with that query still pending: every later query
 * on it waits behind it and times out too. A server that accepts connections
 * and never answers would so poison the whole pool for good. Ending the
 * client the moment one of its queries times out makes the pool drop it when
 * it comes back (a client that is ending is never reused) and open a fresh
 * connection next time, so the service recovers by itself once the database
 * answers again.
 */
export function evictHungConnections(pool: pg.Pool): void {
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    const evicting = (...args: unknown[]): unknown => {
      const result = query(...args);
      if (!(result instanceof Promise)) return result;
      return result.catch((e: unknown) => {
        // end() destroys the socket at once when a query is pending.
        if (isReadTimeout(e)) void client.end().catch(() => undefined);
        throw e;
      });
    };
    client.query = evicting as typeof client.query;
  });
}
