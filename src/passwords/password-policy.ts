import type { FieldViolation } from "../domain/errors.js";
import type { PasswordOwner, PasswordPolicy } from "../domain/ports.js";
import { checkPasswordIdentity, checkPasswordLength } from "../domain/validation.js";
import type { StrengthEstimator, StrengthVerdict } from "./strength-estimator.js";

export interface PasswordPolicyOptions {
  /** PASSWORD_MIN_LENGTH. */
  readonly minLength: number;
  /** PASSWORD_MIN_SCORE: the lowest zxcvbn score accepted, 0–4; 0 turns the estimate off. */
  readonly minScore: number;
  /** Needed unless minScore is 0. */
  readonly estimator?: StrengthEstimator;
}

/**
 * The one rule for every newly chosen password (Register today, password
 * change and reset next): NIST SP 800-63B length (no composition rules), no
 * control characters, not the username or the e-mail's name, and a zxcvbn
 * score of at least PASSWORD_MIN_SCORE (ASVS 6.2.4: it knows the common
 * passwords and dictionary words, and sequences, repeats and dates around
 * them, which an exact-match list misses). The estimator's English feedback
 * becomes the field violation's description.
 */
export function createPasswordPolicy(opts: PasswordPolicyOptions): PasswordPolicy {
  const { estimator } = opts;
  if (opts.minScore > 0 && estimator === undefined) throw new Error("PASSWORD_MIN_SCORE needs the strength estimator");
  return {
    async check(password: string, owner: PasswordOwner, field = "password"): Promise<FieldViolation[]> {
      const out: FieldViolation[] = [];
      checkPasswordLength(password, opts.minLength, out, field);
      checkPasswordIdentity(password, owner, out, field);
      if (out.length > 0 || opts.minScore === 0 || estimator === undefined) return out;
      const name = owner.email.split("@")[0] ?? "";
      const verdict = await estimator.estimate(password, [owner.username, name, owner.email]);
      if (verdict.score < opts.minScore) out.push({ field, description: describeWeakness(verdict) });
      return out;
    },
  };
}

/** "is too easy to guess: <warning> <suggestions>" — always with some advice. */
export function describeWeakness(verdict: StrengthVerdict): string {
  const advice = [verdict.warning, ...verdict.suggestions].filter((s): s is string => !!s && s.length > 0);
  if (advice.length === 0) advice.push("Add more words that are less common.");
  return `is too easy to guess: ${advice.join(" ")}`;
}
