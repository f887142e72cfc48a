/**
 * On PostgreSQL the hot queries (sql.ts `prepare`) run as named prepared
 * statements: a connection parses and plans each once. Seen from the
 * server's side, in pg_prepared_statements of the one pooled connection.
 */
import { sql as raw } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOrm, migrate, type Orm } from "../../src/db/orm.js";
import { createSessionRepository } from "../../src/db/session-repository.js";
import { createSql, type Sql } from "../../src/db/sql.js";
import { createUserRepository } from "../../src/db/user-repository.js";
import { createTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { later, newUser, tokenHash } from "./support.js";

describe("hot statements on PostgreSQL", () => {
  let db: TestDatabase;
  let orm: Orm;
  let sql: Sql;
  beforeAll(async () => {
    db = await createTestDatabase("postgresql", { prefix: "warden_named" });
    // One connection: the statements it prepared are the ones the view shows.
    orm = await createOrm({ kind: "postgresql", url: db.url }, { statementTimeoutMs: 5000, poolSize: 1 });
    await migrate(orm);
    sql = createSql(orm, "postgresql");
  });
  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
  });

  const prepared = async () =>
    (
      await raw<{ name: string; statement: string }>`select name, statement from pg_prepared_statements`.execute(
        sql.db(),
      )
    ).rows;

  it("when a refresh token is looked up twice, then its statement was prepared once, by name, and answers the same; other queries stay unnamed", async () => {
    const users = createUserRepository(sql);
    const sessions = createSessionRepository(sql);
    const user = await users.create(newUser("named"));
    const first = tokenHash();
    const session = await sessions.create({
      userId: user.id,
      expiresAt: later(3_600_000),
      refreshTokenHash: first,
      refreshExpiresAt: later(3_600_000),
      clientAddress: "192.0.2.1",
      userAgent: "test",
      amr: ["pwd"],
    });
    expect(await prepared()).toEqual([]);

    const found1 = await sessions.findRefreshToken(first);
    const found2 = await sessions.findRefreshToken(first);
    expect(found1?.sessionId).toBe(session.id);
    expect(found2).toEqual(found1);
    const ours = (await prepared()).filter((p) => p.name.startsWith("warden_"));
    expect(ours).toHaveLength(1);
    expect(ours[0]?.statement).toContain("refresh_tokens");
    // Unregistered queries (this one, the inserts above) stay unnamed.
    expect((await prepared()).length).toBe(ours.length);
  });

  it("when DB_PREPARED_STATEMENTS is off (a pooler in transaction mode), then the same lookup prepares nothing by name", async () => {
    const plainDb = await createTestDatabase("postgresql", { prefix: "warden_unnamed" });
    const plainOrm = await createOrm(
      { kind: "postgresql", url: plainDb.url },
      { statementTimeoutMs: 5000, poolSize: 1, namedStatements: false },
    );
    try {
      await migrate(plainOrm);
      const plain = createSql(plainOrm, "postgresql");
      const sessions = createSessionRepository(plain);
      expect(await sessions.findRefreshToken(tokenHash())).toBeNull();
      expect(await sessions.findRefreshToken(tokenHash())).toBeNull();
      const rows = await raw<{ name: string }>`select name from pg_prepared_statements`.execute(plain.db());
      expect(rows.rows).toEqual([]);
    } finally {
      await plainOrm.close(true);
      await plainDb.drop();
    }
  });
});
