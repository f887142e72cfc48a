import type { PasswordBlocklist } from "../domain/ports.js";

/**
 * The common-password blocklist of NIST SP 800-63B §3.1.1.2 and ASVS 6.2.4:
 * the 49,233 most common passwords of the zxcvbn-ts common dictionary
 * (@zxcvbn-ts/language-common 4.1.3, MIT; ranked from leaked-password
 * corpora), stored lower-cased and NFKC-normalised in
 * common-passwords.json next to this file.
 *
 * Loaded once at start, off the import graph of the rest of the service, and
 * kept in a Set: a lookup is one hash probe.
 */
export async function loadPasswordBlocklist(): Promise<PasswordBlocklist & { readonly size: number }> {
  const { default: list } = await import("./common-passwords.json", { with: { type: "json" } });
  const entries = new Set<string>(list);
  return {
    size: entries.size,
    has: (candidate) => entries.has(candidate.normalize("NFKC").toLowerCase()),
  };
}
