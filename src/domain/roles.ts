import type { FieldViolation } from "./errors.js";

/** The role AdminService requires. */
export const ADMIN_ROLE = "admin";

/** The wire contract: lower-case names, as in `admin`, `billing.read`, `support-team`. */
const ROLE_NAME = /^[a-z][a-z0-9_.-]{0,63}$/;

/**
 * Enough for any sane role model, and it keeps the roles column, the `roles`
 * claim and the `x-user-roles` header small (at most ~2 kB).
 */
export const MAX_ROLES_PER_USER = 32;

export const isRoleName = (name: string): boolean => ROLE_NAME.test(name);

const ROLE_RULE = "must be 1 to 64 characters of a-z, 0-9, '_', '.' or '-', starting with a letter";

/**
 * Checks one role name. Names are not lower-cased or trimmed for the caller:
 * "Admin" is refused rather than silently turned into another name.
 */
export function checkRoleName(raw: string, out: FieldViolation[], field = "role"): string {
  if (raw.length === 0) out.push({ field, description: "is required" });
  else if (!isRoleName(raw)) out.push({ field, description: ROLE_RULE });
  return raw;
}

/** Validates a whole set (SetUserRoles); returns it distinct and sorted, the one stored form. */
export function normalizeRoles(raw: readonly string[], out: FieldViolation[], field = "roles"): string[] {
  raw.forEach((name, i) => {
    checkRoleName(name, out, `${field}[${i}]`);
  });
  const roles = sortedRoles(raw);
  if (roles.length > MAX_ROLES_PER_USER) {
    out.push({ field, description: `must hold at most ${MAX_ROLES_PER_USER} roles` });
  }
  return roles;
}

/** Distinct and sorted: the order roles are stored, put in tokens and sent in headers. */
export const sortedRoles = (roles: Iterable<string>): string[] => [...new Set(roles)].sort();
