import { randomUUID, sign } from "node:crypto";
import { createLocalJWKSet, errors, jwtVerify } from "jose";
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

/** A string-array claim: absent is [] (tokens issued before it existed); any other shape is not our token. */
function stringList(value: unknown): readonly string[] | null {
  if (value === undefined) return [];
  return Array.isArray(value) && value.every((v) => typeof v === "string") ? value : null;
}

/** A session opened with a password only (RFC 8176 `pwd`): what a token without amr (or with an empty one) means. */
const PASSWORD_ONLY: readonly string[] = Object.freeze(["pwd"]);

const base64url = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");

/**
 * Issues and verifies access tokens: EdDSA JWTs with iss, aud, sub, sid, iat, exp, jti, roles and amr.
 *
 * Issuing is a JWS compact serialisation (RFC 7515 §7.1) signed with
 * node:crypto's synchronous Ed25519 (the key ring holds Ed25519 keys only).
 * jose 6 signs through WebCrypto, which converts the key and hops to the
 * thread pool: about three times the CPU per token (bench/RESULTS.md), and
 * every Login, Register and Refresh issues one. Verification stays with
 * jose, whose checks (alg, typ, claims) are the security boundary.
 */
export function createAccessTokens(keys: KeyRing, opts: AccessTokenOptions, clock: Clock): AccessTokens {
  const jwks = createLocalJWKSet({ keys: [...keys.jwks.keys] });
  const verified = new Map<string, { claims: AccessClaims; exp: number }>();
  const header = base64url({ alg: JWT_ALG, typ: ACCESS_TOKEN_TYP, kid: keys.signing.kid });
  return {
    async issue({ userId, sessionId, roles, amr }) {
      const iat = Math.floor(+clock.now() / 1000);
      const exp = iat + opts.ttlSeconds;
      const payload = {
        sid: sessionId,
        roles: [...roles],
        amr: [...amr],
        iss: opts.issuer,
        aud: opts.audience,
        sub: userId,
        iat,
        exp,
        jti: randomUUID(),
      };
      const input = `${header}.${base64url(payload)}`;
      const signature = sign(null, Buffer.from(input), keys.signing.privateKey).toString("base64url");
      return { token: `${input}.${signature}`, expiresAt: new Date(exp * 1000) };
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
        const roles = stringList(payload.roles);
        // Never a stronger claim than the token makes: absent or empty is password-only.
        const listed = stringList(payload.amr);
        const amr = listed && listed.length === 0 ? PASSWORD_ONLY : listed;
        const { sid, sub, jti, iat, exp } = payload;
        if (
          typeof sid !== "string" ||
          typeof sub !== "string" ||
          typeof jti !== "string" ||
          typeof iat !== "number" ||
          typeof exp !== "number" ||
          !roles ||
          !amr
        ) {
          throw invalidToken("access token");
        }
        const claims: AccessClaims = {
          userId: sub,
          sessionId: sid,
          tokenId: jti,
          roles,
          amr,
          issuedAt: new Date(iat * 1000),
          expiresAt: new Date(exp * 1000),
        };
        if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value ?? "");
        verified.set(token, { claims, exp });
        return claims;
      } catch (e) {
        if (e instanceof errors.JWTExpired) throw tokenExpired();
        throw invalidToken("access token");
      }
    },
  };
}
