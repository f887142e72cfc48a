/**
 * How an amr list (RFC 8176 method names) is kept in a text column: a JSON
 * array, the same on both dialects and readable by raw SQL. Anything
 * unreadable counts as password-only, the weakest claim, never a stronger one.
 */
export const encodeAmr = (amr: readonly string[]): string => JSON.stringify(amr);

export function decodeAmr(raw: unknown): string[] {
  if (typeof raw !== "string") return ["pwd"];
  try {
    const parsed: unknown = JSON.parse(raw);
    if (Array.isArray(parsed) && parsed.length > 0 && parsed.every((v) => typeof v === "string")) return parsed;
  } catch {
    // fall through
  }
  return ["pwd"];
}
