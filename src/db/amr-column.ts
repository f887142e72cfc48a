/**
 * How an amr list (RFC 8176 method names) is kept in a text column: a JSON
 * array, the same on both dialects and readable by raw SQL. Anything
 * unreadable counts as password-only, the weakest claim, never a stronger one.
 */
export const encodeAmr = (amr: readonly string[]): string => JSON.stringify(amr);

const PASSWORD_ONLY: readonly string[] = Object.freeze(["pwd"]);
const PASSWORD_ONLY_TEXT = encodeAmr(PASSWORD_ONLY);

export function decodeAmr(raw: unknown): readonly string[] {
  // Most sessions are password-only: the session reads of GetCurrentUser and Refresh skip the parse.
  if (raw === PASSWORD_ONLY_TEXT || typeof raw !== "string") return PASSWORD_ONLY;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((v) => typeof v === "string")) return parsed;
  } catch {
    // fall through
  }
  return PASSWORD_ONLY;
}
