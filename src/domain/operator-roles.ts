import type { UserAdministration } from "./admin-ports.js";
import { type FieldViolation, notFound, validationError } from "./errors.js";
import type { AuthEvents } from "./events.js";
import type { Clock, UserRepository } from "./ports.js";
import { checkRoleName, MAX_ROLES_PER_USER, sortedRoles } from "./roles.js";
import type { User } from "./types.js";
import { throwIfAny } from "./validation.js";

/**
 * Role changes by an operator at the command line (`npm run admin`), with
 * no admin caller: this is how the first admin is made. It needs access to
 * the database, which no network caller has.
 */

export interface RoleChange {
  readonly user: User;
  /** False when the user already had (or already lacked) the role. */
  readonly changed: boolean;
}

export interface OperatorRolesDeps {
  readonly users: Pick<UserRepository, "findByLogin"> & Pick<UserAdministration, "changeRoles">;
  readonly clock: Clock;
  readonly events: AuthEvents;
  /** Who runs the command, for the audit line: `cli:<os user>`. */
  readonly actor: string;
}

export function createOperatorRoles(deps: OperatorRolesDeps) {
  const { users, clock, events, actor } = deps;

  async function userOf(login: string): Promise<User> {
    const key = login.trim().toLowerCase();
    const found = key.length === 0 ? null : await users.findByLogin(key);
    if (!found) throw notFound("user");
    return found.user;
  }

  function roleOf(raw: string): string {
    const violations: FieldViolation[] = [];
    const role = checkRoleName(raw, violations);
    throwIfAny(violations);
    return role;
  }

  async function change(
    login: string,
    rawRole: string,
    event: "role_granted" | "role_revoked",
    apply: (current: readonly string[], role: string) => readonly string[],
  ): Promise<RoleChange> {
    const role = roleOf(rawRole);
    const target = await userOf(login);
    const done = await users.changeRoles(target.id, (current) => apply(current, role), clock.now());
    if (!done) throw notFound("user"); // deleted meanwhile
    const changed = done.before.join(" ") !== done.user.roles.join(" ");
    events.emit({
      event,
      outcome: "success",
      actor,
      targetUserId: done.user.id,
      roles: done.user.roles,
      count: changed ? 1 : 0,
    });
    return { user: done.user, changed };
  }

  return {
    /** Adds the role (a no-op when the user has it). */
    grantRole: (login: string, role: string) =>
      change(login, role, "role_granted", (current, r) => {
        const next = sortedRoles([...current, r]);
        if (next.length > MAX_ROLES_PER_USER) {
          throw validationError([{ field: "role", description: `the user has ${MAX_ROLES_PER_USER} roles already` }]);
        }
        return next;
      }),

    /** Removes the role (a no-op when the user lacks it). */
    revokeRole: (login: string, role: string) =>
      change(login, role, "role_revoked", (current, r) => current.filter((x) => x !== r)),

    /** The user, roles included. */
    listRoles: (login: string): Promise<User> => userOf(login),
  };
}
