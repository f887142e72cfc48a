/**
 * The admin command: role changes by an operator, against the service's own
 * database, with the service's environment (DATABASE_URL, DATA_DIR, …). It
 * is how the first admin is made; no network call can do that.
 *
 *   npm run admin -- grant-role  <email-or-username> <role>
 *   npm run admin -- revoke-role <email-or-username> <role>
 *   npm run admin -- list-roles  <email-or-username>
 *
 * In the container image: `node dist/src/cli/admin.js grant-role alice@example.com admin`.
 *
 * It never changes the schema: on a database whose migrations are not all
 * applied it refuses (the service, or `npm run migrate`, applies them), so
 * that a role change cannot turn into a schema change under a running
 * service of another version. Says on stdout what it did; the audit line
 * (actor `cli:<os user>`) goes to stderr as JSON.
 *
 * Exit codes: 0 done (also when nothing needed changing); 1 could not do it
 * (unknown user, database unreachable or not migrated, bad configuration);
 * 2 bad command line (unknown command, wrong arguments, invalid role name).
 */
import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import { createAuditLog } from "../audit/audit-log.js";
import { ConfigError, type DatabaseConfig, loadConfig } from "../config.js";
import { createOrm, type Orm } from "../db/orm.js";
import { createSql } from "../db/sql.js";
import { createUserRepository } from "../db/user-repository.js";
import { isDomainError } from "../domain/errors.js";
import { createOperatorRoles, type RoleChange } from "../domain/operator-roles.js";
import { systemClock } from "../domain/ports.js";
import { isRoleName } from "../domain/roles.js";
import type { User } from "../domain/types.js";
import { createLogger, describeError } from "../logger.js";

const USAGE = `usage: npm run admin -- <command> <arguments>
  grant-role  <email-or-username> <role>   give the user a role (e.g. admin)
  revoke-role <email-or-username> <role>   take a role away
  list-roles  <email-or-username>          show the user's roles
Roles: 1-64 characters of a-z, 0-9, '_', '.', '-', starting with a letter.
Uses the service's environment (DATABASE_URL, DATA_DIR) to find its database.`;

type RoleCommand = { readonly name: "grant-role" | "revoke-role"; readonly login: string; readonly role: string };
type Command = RoleCommand | { readonly name: "list-roles"; readonly login: string } | { readonly name: "help" };

class Exit extends Error {
  constructor(
    readonly code: 1 | 2,
    message: string,
  ) {
    super(message);
  }
}

function parse(argv: readonly string[]): Command {
  const [name, login, role, ...extra] = argv;
  if ((name === "grant-role" || name === "revoke-role") && login && role !== undefined && extra.length === 0) {
    if (!isRoleName(role)) {
      throw new Exit(
        2,
        `invalid role "${role}": must be 1-64 characters of a-z, 0-9, '_', '.', '-', starting with a letter`,
      );
    }
    return { name, login, role };
  }
  if (name === "list-roles" && login && role === undefined) return { name, login };
  if (name === "help" || name === "--help" || name === "-h") return { name: "help" };
  throw new Exit(2, name === undefined ? USAGE : `${USAGE}\n\nerror: unknown command or wrong number of arguments`);
}

/** Opens the database the service would use, refusing to create or migrate it. */
async function openDatabase(db: DatabaseConfig, timeoutMs: number): Promise<Orm> {
  if (db.kind === "sqlite" && db.path !== ":memory:" && !existsSync(db.path)) {
    throw new Exit(
      1,
      `no database at ${db.path} (set DATABASE_URL or DATA_DIR as for the service); start the service once, and register the user, first`,
    );
  }
  const orm = await createOrm(db, { poolSize: 1, statementTimeoutMs: timeoutMs });
  try {
    // Ask first: MikroORM's migrator would create a missing PostgreSQL
    // database (ensureDatabase) and report an empty schema.
    await orm.em
      .getConnection()
      .execute("select 1")
      .catch((e: unknown) => {
        const { error_name, error_code, error_message } = describeError(e);
        throw new Exit(
          1,
          `cannot connect to the database: ${error_message ?? error_name} (${error_code ?? error_name})`,
        );
      });
    const pending = await orm.migrator.getPending();
    if (pending.length > 0) {
      throw new Exit(
        1,
        `the database schema is not up to date (${pending.length} migration(s) pending); run \`npm run migrate\` or start the service first (this command never changes the schema)`,
      );
    }
    return orm;
  } catch (e) {
    await orm.close(true);
    throw e;
  }
}

const describeUser = (u: User) => `${u.username} <${u.email}> (id ${u.id}${u.isActive ? "" : ", deactivated"})`;
const rolesText = (roles: readonly string[]) => (roles.length === 0 ? "(none)" : roles.join(", "));
const LATER =
  "AdminService and the token checks see this at once; access tokens carry it from the next sign-in or refresh.";

function report(command: RoleCommand, done: RoleChange): string {
  const who = describeUser(done.user);
  const { role } = command;
  if (!done.changed) {
    const state = command.name === "grant-role" ? "already has" : "does not have";
    return `${who} ${state} role "${role}"; nothing changed. Roles: ${rolesText(done.user.roles)}`;
  }
  const verb = command.name === "grant-role" ? `granted role "${role}" to` : `revoked role "${role}" from`;
  return `${verb} ${who}. Roles now: ${rolesText(done.user.roles)}\n${LATER}`;
}

async function run(argv: readonly string[]): Promise<string> {
  const command = parse(argv);
  if (command.name === "help") return USAGE;
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    throw new Exit(1, e instanceof ConfigError ? e.message : "invalid configuration");
  }
  const orm = await openDatabase(config.database, config.resilience.dbTimeoutMs);
  try {
    const roles = createOperatorRoles({
      users: createUserRepository(createSql(orm, config.database.kind)),
      clock: systemClock,
      events: createAuditLog(createLogger("info", process.stderr)),
      actor: `cli:${osUser()}`,
    });
    if (command.name === "list-roles") {
      const user = await roles.listRoles(command.login);
      return `${describeUser(user)} has roles: ${rolesText(user.roles)}`;
    }
    const done =
      command.name === "grant-role"
        ? await roles.grantRole(command.login, command.role)
        : await roles.revokeRole(command.login, command.role);
    return report(command, done);
  } catch (e) {
    if (isDomainError(e) && e.reason === "NOT_FOUND") {
      throw new Exit(1, `no user with e-mail or username "${command.login}"`);
    }
    if (isDomainError(e)) throw new Exit(1, e.message);
    throw e;
  } finally {
    await orm.close(true);
  }
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

try {
  process.stdout.write(`${await run(process.argv.slice(2))}\n`);
} catch (e) {
  if (e instanceof Exit) {
    process.stderr.write(`${e.message}\n`);
    process.exitCode = e.code;
  } else {
    // A driver's message may quote SQL: name and code only (describeError).
    const { error_name, error_code, error_message } = describeError(e);
    process.stderr.write(
      `failed: ${error_message ?? "database error"} (${error_name}${error_code ? ` ${error_code}` : ""})\n`,
    );
    process.exitCode = 1;
  }
}
