import { MikroORM } from "@mikro-orm/postgresql";
import type pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { evictHungConnections } from "../../src/patches/pg-hung-connections.js";
import { createTestDatabase, postgresAvailable, type TestDatabase } from "../helpers/databases.js";

/**
 * src/patches/pg-hung-connections.ts. Each canary asserts the upstream
 * behaviour one half of the patch works around; when one fails, that half
 * can go. The patch's effect on an outage is shown end to end by
 * test/ops/db-outage.test.ts.
 */

const pgOk = await postgresAvailable();

/** A one-connection pool, as MikroORM sets it up, optionally with the patch. */
async function onePool(db: TestDatabase, opts: { patch: boolean; queryTimeoutMs: number }) {
  let pool: pg.Pool | undefined;
  const orm = await MikroORM.init({
    clientUrl: db.url,
    entities: [],
    discovery: { warnWhenNoEntities: false },
    pool: { min: 0, max: 1 },
    driverOptions: {
      query_timeout: opts.queryTimeoutMs,
      connectionTimeoutMillis: 1500,
      onPoolCreated: (p: pg.Pool) => {
        pool = p;
        if (opts.patch) evictHungConnections(p);
      },
    },
  });
  const run = (q: string) =>
    orm.em
      .getConnection()
      .execute(q)
      .then(
        () => "ok",
        (e: unknown) => (e instanceof Error ? e.message : String(e)),
      );
  const state = () => ({ total: pool?.totalCount, idle: pool?.idleCount });
  return { orm, run, state, pool: () => pool };
}

describe.skipIf(!pgOk)("patch: PostgreSQL hung connections", () => {
  let db: TestDatabase | undefined;
  let orm: MikroORM | undefined;
  afterEach(async () => {
    await orm?.close(true);
    await db?.drop();
    orm = undefined;
    db = undefined;
  });

  it("canary (brianc/node-postgres#3399, pg 8.23.0): when a query outlives query_timeout, then the next query on the same pooled client times out too", async () => {
    db = await createTestDatabase("postgresql", { prefix: "warden_patch" });
    const p = await onePool(db, { patch: false, queryTimeoutMs: 300 });
    orm = p.orm;
    expect(await p.run("select pg_sleep(2)")).toBe("Query read timeout");
    // The server is fine; the client still waits for the first answer.
    expect(await p.run("select 1")).toBe("Query read timeout");
  });

  it("when the patch is on and a query outlives query_timeout, then the client is dropped and the next query gets a fresh one", async () => {
    db = await createTestDatabase("postgresql", { prefix: "warden_patch" });
    const p = await onePool(db, { patch: true, queryTimeoutMs: 300 });
    orm = p.orm;
    expect(await p.run("select pg_sleep(2)")).toBe("Query read timeout");
    // The socket closes within a tick or two, and the pool forgets the client.
    const deadline = Date.now() + 1500;
    while (p.state().total !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(p.state().total).toBe(0);
    expect(await p.run("select 1")).toBe("ok");
  });

  it("canary (kysely-org/kysely#1990, kysely 0.29.6): when the commit of a controlled transaction fails, then its connection is never released", async () => {
    db = await createTestDatabase("postgresql", { prefix: "warden_patch" });
    const p = await onePool(db, { patch: false, queryTimeoutMs: 5000 });
    orm = p.orm;
    await p.run(
      "create table canary (id int primary key, ref int references canary (id) deferrable initially deferred)",
    );
    const taken: pg.PoolClient[] = [];
    p.pool()?.on("acquire", (c) => taken.push(c));
    const kysely = p.orm.em.getKysely<{ canary: { id: number; ref: number } }>();
    const trx = await kysely.startTransaction().execute();
    await trx.insertInto("canary").values({ id: 1, ref: 2 }).execute();
    // The deferred foreign key fails at commit: an answer from a healthy server.
    await expect(trx.commit().execute()).rejects.toThrow(/foreign key/);
    expect(p.state()).toEqual({ total: 1, idle: 0 });
    // The one slot stays taken: the next query cannot get a connection.
    expect(await p.run("select 1")).toMatch(/timeout exceeded when trying to connect/);
    // Hand it back, or closing the pool would wait for it forever.
    for (const c of taken) c.release();
  });
});
