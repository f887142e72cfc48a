import { MikroORM } from "@mikro-orm/sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { cachePreparedStatements } from "../../src/patches/sqlite-statement-cache.js";

/**
 * src/patches/sqlite-statement-cache.ts. The canary asserts the upstream
 * behaviour the patch works around; when it fails, kysely reuses statements
 * itself and the patch can go.
 */

interface Preparer {
  prepare(sql: string): unknown;
}
const isPreparer = (c: unknown): c is Preparer => typeof c === "object" && c !== null && "prepare" in c;

/** An in-memory SQLite through MikroORM's kysely, with every `prepare` the driver makes counted. */
async function countingSqlite(patch: boolean) {
  const orm = await MikroORM.init({ dbName: ":memory:", entities: [], discovery: { warnWhenNoEntities: false } });
  const db = await orm.em.getConnection().getNativeClient();
  if (!isPreparer(db)) throw new Error("not a better-sqlite3 database");
  const prepared: string[] = [];
  const prepare = db.prepare.bind(db);
  db.prepare = (sql: string) => {
    prepared.push(sql);
    return prepare(sql);
  };
  if (patch) cachePreparedStatements(db);
  await orm.em.getConnection().execute("create table t (id integer primary key, name text)");
  prepared.length = 0;
  return { orm, prepared, kysely: orm.em.getKysely<{ t: { id: number; name: string } }>() };
}

describe("patch: SQLite statement cache", () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it("canary: when kysely (0.29.6, under @mikro-orm/sqlite 7.2.1) runs one query twice, then it prepares it twice", async () => {
    const { orm, prepared, kysely } = await countingSqlite(false);
    close = () => orm.close(true);
    for (const id of [1, 2]) await kysely.selectFrom("t").selectAll().where("id", "=", id).execute();
    expect(prepared).toHaveLength(2);
    expect(prepared[0]).toBe(prepared[1]);
  });

  it("when the patch is on, then a repeated statement is prepared once, and one holding a string literal every time", async () => {
    const { orm, prepared, kysely } = await countingSqlite(true);
    close = () => orm.close(true);
    for (const id of [1, 2, 3]) await kysely.selectFrom("t").selectAll().where("id", "=", id).execute();
    expect(prepared).toHaveLength(1);
    for (const name of ["a", "b"]) await orm.em.getConnection().execute(`select * from t where name = '${name}'`);
    expect(prepared).toHaveLength(3);
    await orm.em.getConnection().execute("select * from t where name = 'a'");
    expect(prepared).toHaveLength(4);
  });
});
