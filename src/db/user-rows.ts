import type { User } from "../domain/types.js";
import type { Orm } from "./orm.js";

/** A row as the driver returns it from plain SQL. */
export type RawRow = Record<string, unknown>;

/**
 * Value conversions for plain SQL, the same in both dialects' queries
 * (SQLite: epoch numbers and 0/1; PostgreSQL: timestamp strings and
 * booleans): the platform converts dates both ways, exactly as MikroORM's
 * own writes do.
 */
export interface DateCodec {
  toDb(d: Date): unknown;
  date(v: unknown): Date;
  dateOrNull(v: unknown): Date | null;
}

export function dateCodec(orm: Orm): DateCodec {
  const platform = orm.em.getPlatform();
  const date = (v: unknown): Date => platform.parseDate(typeof v === "number" ? v : String(v));
  return {
    toDb: (d) => platform.processDateProperty(d),
    date,
    dateOrNull: (v) => (v === null || v === undefined ? null : date(v)),
  };
}

/** The user columns every plain-SQL read selects, from `users` aliased `u`. */
export const USER_COLUMNS =
  "u.id, u.email, u.username, u.is_active, u.created_at, u.updated_at, u.last_login_at, u.roles";

export const userFromRow = (r: RawRow, dates: DateCodec): User => ({
  id: String(r.id),
  email: String(r.email),
  username: String(r.username),
  isActive: r.is_active === true || r.is_active === 1,
  createdAt: dates.date(r.created_at),
  updatedAt: dates.date(r.updated_at),
  lastLoginAt: dates.dateOrNull(r.last_login_at),
  roles: decodeRoles(r.roles),
});

/**
 * users.roles holds the role names sorted and separated by single spaces
 * ("" for none): role names contain no space (domain/roles.ts), and one
 * text column is read with the user at no extra cost on every token check.
 */
export const encodeRoles = (roles: readonly string[]): string => roles.join(" ");

export const decodeRoles = (value: unknown): string[] =>
  typeof value === "string" && value.length > 0 ? value.split(" ") : [];
