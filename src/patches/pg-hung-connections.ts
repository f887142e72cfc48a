/**
 * PATCH: keeps a PostgreSQL outage from poisoning the connection pool for good.
 *
 * Works around two upstream faults; each half goes when its canary in
 * test/patches/pg-hung-connections.test.ts fails:
 * 1. brianc/node-postgres#3399 (pg 8.23.0, pg-pool 3.14.0): `query_timeout` rejects a query
 *    that gets no answer but leaves the client in the pool with the query still pending, so
 *    every later query on it waits and times out too (a server that accepts and never
 *    answers). On such a timeout the socket is destroyed: the client becomes unusable and
 *    the pool drops it on release.
 * 2. kysely-org/kysely#1990 (kysely 0.29.6, under @mikro-orm/postgresql 7.2.1): a
 *    ControlledTransaction whose `begin`, `commit` or `rollback` fails never releases its
 *    connection, so each failed transaction during an outage would keep one pool slot
 *    forever, until none were left. A client whose connection has ended and that is still
 *    checked out after a grace period is handed back to the pool with an error, which
 *    discards it.
 * Installed by src/db/orm.ts as the pool's `onPoolCreated` hook.
 */

import type pg from "pg";

const isReadTimeout = (e: unknown): boolean => e instanceof Error && e.message === "Query read timeout";

/**
 * A dead client still checked out this long after its socket closed has been
 * forgotten by whoever holds it (point 2 above); every normal holder releases it
 * within a few microtasks of its query failing.
 */
const LEAK_GRACE_MS = 1000;

export function evictHungConnections(pool: pg.Pool): void {
  const checkedOut = new Set<pg.PoolClient>();
  pool.on("acquire", (client) => checkedOut.add(client));
  pool.on("release", (_err, client) => checkedOut.delete(client));

  pool.on("connect", (client) => {
    client.once("end", () => {
      setTimeout(() => {
        if (!checkedOut.delete(client)) return;
        client.release(new Error("connection lost while checked out"));
      }, LEAK_GRACE_MS).unref();
    });

    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    const evicting = (...args: unknown[]): unknown => {
      const result = query(...args);
      if (!(result instanceof Promise)) return result;
      return result.catch((e: unknown) => {
        if (isReadTimeout(e)) client.connection.stream.destroy();
        throw e;
      });
    };
    client.query = evicting as typeof client.query;
  });
}
