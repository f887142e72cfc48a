import { randomBytes, randomUUID } from "node:crypto";
import type { DatabaseConfig } from "../../src/config.js";
import { createOrm, migrate, type Orm } from "../../src/db/orm.js";
import { createSessionRepository } from "../../src/db/session-repository.js";
import { createSql, type Sql } from "../../src/db/sql.js";
import { createUserRepository } from "../../src/db/user-repository.js";
import type { SessionAdministration, UserAdministration } from "../../src/domain/admin-ports.js";
import type { SessionRepository, UserRepository } from "../../src/domain/ports.js";
import { createTestDatabase, type TestDatabase } from "../helpers/databases.js";

/** The repositories under test on one fresh, migrated database, and a way to read its rows directly. */
export interface RepositoryFixture {
  readonly kind: "sqlite" | "postgresql";
  readonly users: UserRepository & UserAdministration;
  readonly sessions: SessionRepository & SessionAdministration;
  readonly sql: Sql;
  readonly orm: Orm;
  close(): Promise<void>;
}

export async function openRepositories(kind: "sqlite" | "postgresql"): Promise<RepositoryFixture> {
  const db: TestDatabase = await createTestDatabase(kind, { prefix: "warden_contract" });
  const config: DatabaseConfig =
    kind === "sqlite" ? { kind, path: db.url.slice("sqlite:".length) } : { kind, url: db.url };
  const orm = await createOrm(config, { statementTimeoutMs: 5000 }).catch(async (e: unknown) => {
    await db.drop();
    throw e;
  });
  const close = async () => {
    await orm.close(true);
    await db.drop();
  };
  try {
    await migrate(orm);
    const sql = createSql(orm, kind);
    return {
      kind,
      users: createUserRepository(sql),
      sessions: createSessionRepository(sql),
      sql,
      orm,
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

export const newUser = (prefix = "u") => {
  const id = randomUUID().slice(0, 8);
  return { email: `${prefix}-${id}@example.com`, username: `${prefix}_${id}`, passwordHash: `$2b$04$${id}` };
};

/** A refresh-token digest as the domain stores it: 43 base64url characters. */
export const tokenHash = () => randomBytes(32).toString("base64url");

/** A date with whole milliseconds, in the future by `ms`. */
export const later = (ms: number, from = new Date()) => new Date(Math.floor(+from / 1000) * 1000 + ms);
