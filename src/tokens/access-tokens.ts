import { randomUUID } from "node:crypto";
import { createLocalJWKSet, errors, jwtVerify, SignJWT } from "jose";
import { invalidToken, tokenExpired } from "../domain/errors.js";
import type { AccessTokens, Clock } from "../domain/ports.js";
import type { AccessClaims } from "../domain/types.js";
import { JWT_ALG, type KeyRing } from "./keys.js";

/** RFC 9068 media type: keeps access tokens apart from any other JWT (RFC 8725 §3.11). */
export const ACCESS_TOKEN_TYP = "at+jwt";

export interface AccessTokenOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly ttlSeconds: number;
}

/**
 * Tokens whose signature and claims were checked, so that a client's repeated
 * calls skip the Ed25519 check and JOSE parsing (a large share of a
 * GetCurrentUser's CPU; bench/RESULTS.md). Only the outcome of the signature and the token's own claims
 * is kept; expiry is checked on every call, and sessions and users are still
 * looked up every time. Bounded: the oldest entry leaves first.
 */
const VERIFIED_CACHE_SIZE = 4096;

/** A session opened with a password only (RFC 8176 `pwd`): the claim when none is given or read. */
const PASSWORD_ONLY: readonly string[] = Object.freeze(["pwd"]);

/** The amr claim as read from a payload: a non-empty array of strings, else password-only (never a stronger claim). */
const amrOf = (v: unknown): readonly string[] =>
  Array.isArray(v) && v.length > 0 && v.every((m) => typeof m === "string") ? v : PASSWORD_ONLY;

/** Issues and verifies access tokens: EdDSA JWTs with iss, aud, sub, sid, iat, exp, jti, amr. */
export function createAccessTokens(keys: KeyRing, opts: AccessTokenOptions, clock: Clock): AccessTokens {
  const jwks = createLocalJWKSet({ keys: [...keys.jwks.keys] });
  const verified = new Map<string, { claims: AccessClaims; exp: number }>();
  return {
    async issue({ userId, sessionId, amr }) {
      const iat = Math.floor(+clock.now() / 1000);
      const exp = iat + opts.ttlSeconds;
      const token = await new SignJWT({ sid: sessionId, amr: [...(amr ?? PASSWORD_ONLY)] })
        .setProtectedHeader({ alg: JWT_ALG, typ: ACCESS_TOKEN_TYP, kid: keys.signing.kid })
        .setIssuer(opts.issuer)
        .setAudience(opts.audience)
        .setSubject(userId)
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .setJti(randomUUID())
        .sign(keys.signing.privateKey);
      return { token, expiresAt: new Date(exp * 1000) };
    },

    async verify(token) {
      const hit = verified.get(token);
      if (hit) {
        if (hit.exp <= +clock.now() / 1000) throw tokenExpired();
        return hit.claims;
      }
      try {
        const { payload } = await jwtVerify(token, jwks, {
          algorithms: [JWT_ALG],
          typ: ACCESS_TOKEN_TYP,
          issuer: opts.issuer,
          audience: opts.audience,
          requiredClaims: ["sub", "sid", "jti", "iat", "exp"],
          currentDate: clock.now(),
        });
        if (typeof payload.sid !== "string" || typeof payload.sub !== "string" || typeof payload.jti !== "string") {
          throw invalidToken("access token");
        }
        const claims = { userId: payload.sub, sessionId: payload.sid, tokenId: payload.jti, amr: amrOf(payload.amr) };
        if (typeof payload.exp === "number") {
          if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value ?? "");
          verified.set(token, { claims, exp: payload.exp });
        }
        return claims;
      } catch (e) {
        if (e instanceof errors.JWTExpired) throw tokenExpired();
        throw invalidToken("access token");
      }
    },
  };
}
