import { type FieldViolation, validationError } from "./errors.js";
import type { PasswordBlocklist } from "./ports.js";

/**
 * Input rules of the contract. Each function returns the normalised value and
 * pushes a violation when the input breaks a rule, so one response can name
 * every bad field at once.
 */

const EMAIL = /^[^\s@]{1,64}@[^\s@.]+(\.[^\s@.]+)+$/;
const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/;
export const PASSWORD_MAX_LENGTH = 256;

export function normalizeEmail(raw: string, out: FieldViolation[], field = "email"): string {
  const email = raw.trim().toLowerCase();
  if (email.length === 0) out.push({ field, description: "is required" });
  else if (email.length > 254 || !EMAIL.test(email)) out.push({ field, description: "is not a valid e-mail address" });
  return email;
}

export function checkUsername(raw: string, out: FieldViolation[], field = "username"): string {
  const username = raw.trim();
  if (username.length === 0) out.push({ field, description: "is required" });
  else if (!USERNAME.test(username))
    out.push({
      field,
      description: "must be 3 to 32 characters of letters, digits, '_', '.' or '-'",
    });
  return username;
}

/** NIST SP 800-63B: length only, no composition rules; Unicode compared after NFKC. */
export function normalizePassword(raw: string, minLength: number, out: FieldViolation[], field = "password"): string {
  const password = raw.normalize("NFKC");
  const length = [...password].length;
  if (length === 0) out.push({ field, description: "is required" });
  else if (length < minLength) out.push({ field, description: `must be at least ${minLength} characters` });
  else if (length > PASSWORD_MAX_LENGTH)
    out.push({ field, description: `must be at most ${PASSWORD_MAX_LENGTH} characters` });
  return password;
}

/**
 * NIST SP 800-63B §3.1.1.2 and ASVS 6.2.4: refuse a password that is on the
 * common-password blocklist, or that equals or contains the username or the
 * e-mail's local part (case-insensitively; a local part shorter than 3
 * characters only when equal, or "a@…" would forbid every "a"). Runs only
 * once the password's length is acceptable.
 */
export function checkPasswordChoice(
  password: string,
  identity: { readonly username: string; readonly email: string },
  blocklist: PasswordBlocklist | undefined,
  out: FieldViolation[],
  field = "password",
): void {
  if (out.some((v) => v.field === field)) return;
  const lower = password.toLowerCase();
  const names = [identity.username.toLowerCase(), (identity.email.split("@")[0] ?? "").toLowerCase()];
  if (names.some((n) => n.length > 0 && (lower === n || (n.length >= 3 && lower.includes(n))))) {
    out.push({ field, description: "must not contain the username or the e-mail address's name" });
  } else if (blocklist?.has(password)) {
    out.push({ field, description: "is too common; choose a password that is harder to guess" });
  }
}

export function required(raw: string, field: string, out: FieldViolation[]): string {
  if (raw.trim().length === 0) out.push({ field, description: "is required" });
  return raw;
}

export function throwIfAny(violations: readonly FieldViolation[]): void {
  if (violations.length > 0) throw validationError(violations);
}
