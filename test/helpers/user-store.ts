import { loadConfig } from "../../src/config.js";
import { createOrm } from "../../src/db/orm.js";
import { createSql } from "../../src/db/sql.js";
import { createUserRepository } from "../../src/db/user-repository.js";
import { createOperatorRoles, type RoleChange } from "../../src/domain/operator-roles.js";
import type { TestDatabase } from "./databases.js";

/**
 * A service database opened the way the admin command opens it: its own
 * connection, the real user repository and the operator's role changes.
 * Tests make the first admin with it (as an operator would, never over the
 * network) and insert users in bulk without bcrypt when only a listing is
 * under test. It never touches the running service's internals.
 */
export interface UserStore {
  readonly users: ReturnType<typeof createUserRepository>;
  grantRole(login: string, role: string): Promise<RoleChange>;
  revokeRole(login: string, role: string): Promise<RoleChange>;
  close(): Promise<void>;
}

export async function openUserStore(db: TestDatabase): Promise<UserStore> {
  const config = loadConfig({ DATABASE_URL: db.url }).database;
  const orm = await createOrm(config, { poolSize: 2, statementTimeoutMs: 10_000 });
  const users = createUserRepository(createSql(orm, config.kind));
  const roles = createOperatorRoles({
    users,
    clock: { now: () => new Date() },
    events: { emit: () => undefined },
    actor: "cli:test",
  });
  return {
    users,
    grantRole: roles.grantRole,
    revokeRole: roles.revokeRole,
    close: () => orm.close(true),
  };
}
