import { createHash } from "node:crypto";
import type pg from "pg";

/**
 * The SQL of the hot queries (src/db/sql.ts `prepare`), each with a name:
 * on PostgreSQL they run as named prepared statements, so each connection
 * parses and plans one of them once rather than on every call (the server's
 * CPU per Refresh and per token check is a large part of the call on a
 * small machine). Only texts registered here are named: the set is fixed
 * at start, so no connection can collect an unbounded number of statements.
 */
const named = new Map<string, string>();

/** Marks `text` as a hot statement; the same text always gets the same name. */
export function registerHotStatement(text: string): void {
  if (!named.has(text)) named.set(text, `warden_${createHash("sha256").update(text).digest("hex").slice(0, 16)}`);
}

/**
 * Makes every new connection of `pool` run the registered texts as named
 * statements. kysely's driver calls `client.query(text, values)`; that call
 * becomes `client.query({ name, text, values })`, which pg parses once per
 * connection and then only binds and executes. Everything else passes as is.
 */
export function nameHotStatements(pool: pg.Pool): void {
  pool.on("connect", (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    const naming = (...args: unknown[]): unknown => {
      const [text, values] = args;
      const name = typeof text === "string" && args.length <= 2 ? named.get(text) : undefined;
      return name === undefined ? query(...args) : query({ name, text, values });
    };
    client.query = naming as typeof client.query;
  });
}
