import type { Session, User } from "./types.js";

/**
 * What AdminService and the admin command need of storage, beyond what the
 * AuthService ports (ports.ts) offer. The User and Session aggregates'
 * repositories (src/db/user-repository.ts, session-repository.ts) implement
 * them next to their other queries. Unknown ids give null (or 0/false),
 * never an error: the domain decides what a missing user means.
 */

/** Where a page of users starts: just after this user in (created_at, id) order. */
export interface UserCursor {
  readonly createdAt: Date;
  readonly id: string;
}

export interface UserListQuery {
  /** Rows to return at most. */
  readonly limit: number;
  /** Start after this user; null for the first page. */
  readonly after: UserCursor | null;
  /** Lower-case prefix of the e-mail or the username; null for all users. */
  readonly prefix: string | null;
}

/** The User aggregate as an operator manages it. */
export interface UserAdministration {
  findById(id: string): Promise<User | null>;
  /** Users in (created_at, id) order: a stable order in which new users come last. */
  list(query: UserListQuery): Promise<User[]>;
  /**
   * Sets is_active false and revokes every open session of the user, in one
   * transaction (a deactivated user with a live session must never be seen).
   */
  deactivate(id: string, at: Date): Promise<{ readonly user: User; readonly revokedSessions: number } | null>;
  reactivate(id: string, at: Date): Promise<User | null>;
  /**
   * Replaces the user's roles by `change(current)`, atomically against
   * concurrent changes (another admin, the admin command in another process).
   */
  changeRoles(
    id: string,
    change: (current: readonly string[]) => readonly string[],
    at: Date,
  ): Promise<{ readonly before: readonly string[]; readonly user: User } | null>;
  /** Deletes the user with everything of theirs (one statement; the rest cascades). */
  delete(id: string): Promise<boolean>;
}

/** The Session aggregate as an operator manages it. */
export interface SessionAdministration {
  /** The user's sessions neither revoked nor expired at `now`, newest first. */
  listOpenForUser(userId: string, now: Date): Promise<Session[]>;
  /** Revokes the user's open sessions; returns how many. */
  revokeOpenForUser(userId: string, at: Date): Promise<number>;
}
