import { type FieldViolation, validationError } from "./errors.js";

/**
 * Input rules of the contract. Each function returns the normalised value and
 * pushes a violation when the input breaks a rule, so one response can name
 * every bad field at once.
 *
 * Every string field is checked here, before any database call: a control
 * character (a NUL byte above all) or an overlong value is the client's
 * mistake and must never reach a driver, where it could fail as a protocol
 * error and be mistaken for an outage.
 */

const EMAIL = /^[^\s@]{1,64}@[^\s@.]+(\.[^\s@.]+)+$/;
const USERNAME = /^[A-Za-z0-9_.-]{3,32}$/;
/** Unicode general category Cc: C0 and C1 controls, NUL and DEL included. */
const CONTROL = /\p{Cc}/u;
export const PASSWORD_MAX_LENGTH = 256;
/** RFC 5321's limit on a forward path; also the cap of a login identifier (an e-mail or a username). */
export const EMAIL_MAX_LENGTH = 254;
/** Opaque tokens (refresh, and the ones to come) are far shorter; anything longer is not one of ours. */
export const TOKEN_MAX_LENGTH = 512;

export const hasControlCharacters = (value: string): boolean => CONTROL.test(value);

const NO_CONTROL = "must not contain control characters";

/** NFKC (so look-alike compatibility forms are one address), trimmed, lower-cased. */
export function normalizeEmail(raw: string, out: FieldViolation[], field = "email"): string {
  const email = raw.normalize("NFKC").trim().toLowerCase();
  if (email.length === 0) out.push({ field, description: "is required" });
  else if (hasControlCharacters(email)) out.push({ field, description: NO_CONTROL });
  else if (email.length > EMAIL_MAX_LENGTH || !EMAIL.test(email))
    out.push({ field, description: "is not a valid e-mail address" });
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

/** The identifier of a login: normalised as e-mails are, so either spelling finds the account. */
export function normalizeLogin(raw: string, out: FieldViolation[], field = "email_or_username"): string {
  const login = raw.normalize("NFKC").trim().toLowerCase();
  if (login.length === 0) out.push({ field, description: "is required" });
  else if (hasControlCharacters(login)) out.push({ field, description: NO_CONTROL });
  else if (login.length > EMAIL_MAX_LENGTH)
    out.push({ field, description: `must be at most ${EMAIL_MAX_LENGTH} characters` });
  return login;
}

/** NIST SP 800-63B: Unicode compared after NFKC; every code point counts as one. */
export function normalizePassword(raw: string): string {
  return raw.normalize("NFKC");
}

/**
 * The length rules of a password (NIST SP 800-63B: length only, no
 * composition rules), and no control characters in a new one: they cannot
 * be typed reliably, so they are almost surely a mistake of the client.
 */
export function checkPasswordLength(
  password: string,
  minLength: number,
  out: FieldViolation[],
  field = "password",
): void {
  const length = [...password].length;
  if (length === 0) out.push({ field, description: "is required" });
  else if (length < minLength) out.push({ field, description: `must be at least ${minLength} characters` });
  else if (length > PASSWORD_MAX_LENGTH)
    out.push({ field, description: `must be at most ${PASSWORD_MAX_LENGTH} characters` });
  else if (hasControlCharacters(password)) out.push({ field, description: NO_CONTROL });
}

/**
 * NIST SP 800-63B §3.1.1.2: refuse a password that equals or contains the
 * username or the e-mail's local part (case-insensitively; a local part
 * shorter than 3 characters only when equal, or "a@…" would forbid every
 * "a"). Pushes nothing once the field already has a violation.
 */
export function checkPasswordIdentity(
  password: string,
  identity: { readonly username: string; readonly email: string },
  out: FieldViolation[],
  field = "password",
): void {
  if (out.some((v) => v.field === field)) return;
  const lower = password.toLowerCase();
  const names = [identity.username.toLowerCase(), (identity.email.split("@")[0] ?? "").toLowerCase()];
  if (names.some((n) => n.length > 0 && (lower === n || (n.length >= 3 && lower.includes(n))))) {
    out.push({ field, description: "must not contain the username or the e-mail address's name" });
  }
}

/**
 * An opaque token field: required, at most {@link TOKEN_MAX_LENGTH}
 * characters, no control characters. Its shape is the token parser's
 * business (a wrong shape is INVALID_TOKEN, not a validation error).
 */
export function checkToken(raw: string, field: string, out: FieldViolation[]): string {
  const token = raw.trim();
  if (token.length === 0) out.push({ field, description: "is required" });
  else if (token.length > TOKEN_MAX_LENGTH)
    out.push({ field, description: `must be at most ${TOKEN_MAX_LENGTH} characters` });
  else if (hasControlCharacters(token)) out.push({ field, description: NO_CONTROL });
  return token;
}

export function throwIfAny(violations: readonly FieldViolation[]): void {
  if (violations.length > 0) throw validationError(violations);
}
