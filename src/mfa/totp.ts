import { timingSafeEqual } from "node:crypto";
import { HOTP, Secret, TOTP } from "otpauth";
import type { TotpAlgorithm } from "../domain/mfa-ports.js";
import { TOTP_DIGITS, TOTP_PERIOD_SECONDS, TOTP_SKEW_STEPS, totpStep } from "../domain/mfa-rules.js";

const ALGORITHM = "SHA1";
/** 160 bits: RFC 4226 §4 asks for at least 128 and recommends 160 for HMAC-SHA-1. */
const SECRET_BYTES = 20;

export interface TotpOptions {
  /** The issuer shown in authenticator apps (TOTP_ISSUER). */
  readonly issuer: string;
}

/** RFC 6238 TOTP through the `otpauth` library, with the parameters of mfa-rules.ts. */
export function createTotp(opts: TotpOptions): TotpAlgorithm {
  return {
    newSecret: () => new Secret({ size: SECRET_BYTES }).base32,

    uri: (secret, accountName) =>
      new TOTP({
        issuer: opts.issuer,
        label: accountName,
        algorithm: ALGORITHM,
        digits: TOTP_DIGITS,
        period: TOTP_PERIOD_SECONDS,
        secret: Secret.fromBase32(secret),
      }).toString(),

    matchingSteps(secret, code, at) {
      const key = Secret.fromBase32(secret);
      const given = Buffer.from(code, "utf8");
      const now = totpStep(at);
      const steps: number[] = [];
      // Every step of the window is computed and compared in constant time,
      // so the answer's timing says nothing about which step (if any) matched.
      for (let step = now - TOTP_SKEW_STEPS; step <= now + TOTP_SKEW_STEPS; step++) {
        const expected = Buffer.from(
          HOTP.generate({ secret: key, algorithm: ALGORITHM, digits: TOTP_DIGITS, counter: step }),
          "utf8",
        );
        if (expected.length === given.length && timingSafeEqual(expected, given)) steps.push(step);
      }
      return steps;
    },
  };
}
