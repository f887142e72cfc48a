import { randomUUID } from "node:crypto";
import { SignJWT, createLocalJWKSet, errors, jwtVerify } from "jose";
import { invalidToken, tokenExpired } from "../domain/errors.js";
import type { AccessTokens, Clock } from "../domain/ports.js";
import { JWT_ALG, type KeyRing } from "./keys.js";

/** RFC 9068 media type: keeps access tokens apart from any other JWT (RFC 8725 §3.11). */
export const ACCESS_TOKEN_TYP = "at+jwt";

export interface AccessTokenOptions {
  readonly issuer: string;
  readonly audience: string;
  readonly ttlSeconds: number;
}

/** Issues and verifies access tokens: EdDSA JWTs with iss, aud, sub, sid, iat, exp, jti. */
export function createAccessTokens(keys: KeyRing, opts: AccessTokenOptions, clock: Clock): AccessTokens {
  const jwks = createLocalJWKSet({ keys: [...keys.jwks.keys] });
  return {
    async issue({ userId, sessionId }) {
      const iat = Math.floor(+clock.now() / 1000);
      const exp = iat + opts.ttlSeconds;
      const token = await new SignJWT({ sid: sessionId })
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
        return { userId: payload.sub, sessionId: payload.sid, tokenId: payload.jti };
      } catch (e) {
        if (e instanceof errors.JWTExpired) throw tokenExpired();
        throw invalidToken("access token");
      }
    },
  };
}
