import type { SessionAdministration, UserAdministration } from "./admin-ports.js";
import {
  type FieldViolation,
  failedPrecondition,
  forbidden,
  isDomainError,
  notFound,
  validationError,
} from "./errors.js";
import type { AdminEventName, AuthEvents } from "./events.js";
import type { PageTokens } from "./page-tokens.js";
import type { Clock } from "./ports.js";
import { ADMIN_ROLE, normalizeRoles } from "./roles.js";
import type { TokenChecks } from "./token-checks.js";
import type { RequestMeta, Session, User } from "./types.js";
import { throwIfAny } from "./validation.js";

/**
 * AdminService's rules: who may act (the `admin` role, read from the
 * database on every call, never from the token) and what each action does.
 * Knows nothing of protobuf, HTTP or SQL.
 */

const VERIFIED = Symbol("verified admin");

/** Who asks for an admin action: the call's bearer token (null when it sent none) and where it came from. */
export interface AdminCredentials extends RequestMeta {
  readonly accessToken: string | null;
}

/**
 * An admin, checked in the database during this call. Only `asAdmin` makes
 * one (the symbol is private to this module), and every action runs inside
 * it, so no admin action can run without the check.
 */
interface AdminCaller {
  readonly userId: string;
  /** The session of the caller's access token (Session.current). */
  readonly sessionId: string;
  readonly clientAddress: string;
  readonly [VERIFIED]: true;
}

/** A session as an admin sees it: `current` when it is the session of the asking token. */
export type AdminSessionView = Session & { readonly current: boolean };

export interface ListUsersRequest {
  /** 0 means the default (50); larger than 200 means 200. */
  readonly pageSize: number;
  /** "" for the first page; else the `nextPageToken` of the previous page (same query). */
  readonly pageToken: string;
  /** Matches the start of the e-mail or the username, case-insensitively; "" for everyone. */
  readonly query: string;
}

export interface UserPage {
  readonly users: readonly User[];
  /** "" on the last page. */
  readonly nextPageToken: string;
}

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;
const MAX_QUERY_LENGTH = 254;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface AdminServiceDeps {
  readonly users: UserAdministration;
  readonly sessions: SessionAdministration;
  /** Resolves an access token to its live principal (session, user and roles in one read). */
  readonly tokens: Pick<TokenChecks, "authenticate">;
  readonly pageTokens: PageTokens;
  readonly clock: Clock;
  readonly events: AuthEvents;
  /**
   * Turns a user's second factor off (ResetUserMfa). Optional: without a
   * second-factor module, no user has one, so there is nothing to turn off.
   */
  readonly secondFactor?: SecondFactorReset;
}

/** The part of the second-factor module AdminService uses. */
export interface SecondFactorReset {
  resetUserMfa(userId: string): Promise<unknown>;
}

export type AdminService = ReturnType<typeof createAdminService>;

export function createAdminService(deps: AdminServiceDeps) {
  const { users, sessions, tokens, pageTokens, clock, events } = deps;

  /**
   * The token checks' one read (session, user, roles), then the role: what
   * GetCurrentUser would refuse is refused the same way; a live token
   * without `admin` now is FORBIDDEN, whatever roles the token carries.
   */
  async function asAdmin(who: AdminCredentials): Promise<AdminCaller> {
    const p = await tokens.authenticate(who.accessToken);
    if (!p.roles.includes(ADMIN_ROLE)) {
      events.emit({
        event: "admin_denied",
        outcome: "failure",
        reason: "FORBIDDEN",
        actor: p.userId,
        clientAddress: who.clientAddress,
      });
      throw forbidden();
    }
    return { userId: p.userId, sessionId: p.sessionId, clientAddress: who.clientAddress, [VERIFIED]: true };
  }

  /**
   * Checks the caller, runs one admin action and audits it, naming the admin
   * and the target, whether it succeeds or fails with a domain error.
   */
  async function audited<T>(
    event: AdminEventName,
    who: AdminCredentials,
    targetUserId: string | undefined,
    action: (caller: AdminCaller) => Promise<{ result: T; roles?: readonly string[]; count?: number }>,
  ): Promise<T> {
    const caller = await asAdmin(who);
    // As sent, cut to a UUID's length: a log line is no place for whatever else a client put there.
    const target = targetUserId?.slice(0, 36);
    const audit = { event, actor: caller.userId, targetUserId: target, clientAddress: caller.clientAddress };
    try {
      const { result, roles, count } = await action(caller);
      events.emit({ ...audit, outcome: "success", roles, count });
      return result;
    } catch (e) {
      if (isDomainError(e)) events.emit({ ...audit, outcome: "failure", reason: e.reason });
      throw e;
    }
  }

  /** A user id from a request: anything that is not a UUID cannot name a user. */
  function userIdOf(raw: string): string {
    const id = raw.trim().toLowerCase();
    if (!UUID.test(id)) throw notFound("user");
    return id;
  }

  const found = <T>(value: T | null): T => {
    if (value === null) throw notFound("user");
    return value;
  };

  function refuseSelf(caller: AdminCaller, userId: string, what: string): void {
    if (caller.userId === userId) throw failedPrecondition(`an admin cannot ${what} themself`);
  }

  return {
    listUsers(who: AdminCredentials, req: ListUsersRequest): Promise<UserPage> {
      return audited("admin_list_users", who, undefined, async () => {
        if (!Number.isInteger(req.pageSize) || req.pageSize < 0) {
          throw validationError([{ field: "page_size", description: "must not be negative" }]);
        }
        const limit = req.pageSize === 0 ? DEFAULT_PAGE_SIZE : Math.min(req.pageSize, MAX_PAGE_SIZE);
        const query = req.query.trim().toLowerCase();
        if (query.length > MAX_QUERY_LENGTH) {
          throw validationError([{ field: "query", description: `must be at most ${MAX_QUERY_LENGTH} characters` }]);
        }
        const after = req.pageToken === "" ? null : pageTokens.open(req.pageToken, query);
        // One row more than asked tells whether another page follows.
        const rows = await users.list({ limit: limit + 1, after, prefix: query === "" ? null : query });
        const page = rows.slice(0, limit);
        const last = page[page.length - 1];
        const nextPageToken = rows.length > limit && last ? pageTokens.seal(last, query) : "";
        return { result: { users: page, nextPageToken }, count: page.length };
      });
    },

    getUser(who: AdminCredentials, userId: string): Promise<User> {
      return audited("admin_get_user", who, userId, async () => {
        return { result: found(await users.findById(userIdOf(userId))) };
      });
    },

    /** Deactivates the user and revokes every session of theirs in the same transaction. */
    deactivateUser(who: AdminCredentials, userId: string): Promise<User> {
      return audited("admin_deactivate_user", who, userId, async (caller) => {
        const id = userIdOf(userId);
        refuseSelf(caller, id, "deactivate");
        const { user, revokedSessions } = found(await users.deactivate(id, clock.now()));
        return { result: user, count: revokedSessions };
      });
    },

    /** Lets the user sign in again; the sessions ended by deactivation stay ended. */
    reactivateUser(who: AdminCredentials, userId: string): Promise<User> {
      return audited("admin_reactivate_user", who, userId, async () => {
        return { result: found(await users.reactivate(userIdOf(userId), clock.now())) };
      });
    },

    /** Replaces the user's roles. Tokens carry the new ones from their next refresh; checks see them at once. */
    setUserRoles(who: AdminCredentials, userId: string, roles: readonly string[]): Promise<User> {
      return audited("admin_set_user_roles", who, userId, async (caller) => {
        const id = userIdOf(userId);
        const violations: FieldViolation[] = [];
        const next = normalizeRoles(roles, violations);
        throwIfAny(violations);
        // The last admin cannot lock everyone out this way, and no admin
        // drops their own rights by a slip; another admin (or the admin
        // command) can still do it.
        if (caller.userId === id && !next.includes(ADMIN_ROLE)) {
          throw failedPrecondition(`an admin cannot remove the ${ADMIN_ROLE} role from themself`);
        }
        const { user } = found(await users.changeRoles(id, () => next, clock.now()));
        return { result: user, roles: user.roles };
      });
    },

    /** The user's open sessions, newest first; `current` marks the asking token's own. */
    listUserSessions(who: AdminCredentials, userId: string): Promise<AdminSessionView[]> {
      return audited("admin_list_user_sessions", who, userId, async (caller) => {
        const id = userIdOf(userId);
        found(await users.findById(id));
        const open = await sessions.listOpenForUser(id, clock.now());
        const result = open.map((s) => ({ ...s, current: s.id === caller.sessionId }));
        return { result, count: open.length };
      });
    },

    /** Ends every open session of the user; returns how many. */
    revokeUserSessions(who: AdminCredentials, userId: string): Promise<number> {
      return audited("admin_revoke_user_sessions", who, userId, async () => {
        const id = userIdOf(userId);
        found(await users.findById(id));
        const count = await sessions.revokeOpenForUser(id, clock.now());
        return { result: count, count };
      });
    },

    /** Turns the user's second factor off (a lost device); the user as it is afterwards. */
    resetUserMfa(who: AdminCredentials, userId: string): Promise<User> {
      return audited("admin_reset_user_mfa", who, userId, async () => {
        const id = userIdOf(userId);
        found(await users.findById(id));
        await deps.secondFactor?.resetUserMfa(id);
        return { result: found(await users.findById(id)) };
      });
    },

    /** Deletes the user and everything of theirs; their tokens stop working at once. */
    deleteUser(who: AdminCredentials, userId: string): Promise<void> {
      return audited("admin_delete_user", who, userId, async (caller) => {
        const id = userIdOf(userId);
        refuseSelf(caller, id, "delete");
        if (!(await users.delete(id))) throw notFound("user");
        return { result: undefined };
      });
    },
  };
}
