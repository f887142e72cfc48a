import { invalidToken, isDomainError, tokenExpired, tokenRevoked, userInactive, validationError } from "./errors.js";
import type { AccessTokens, Clock, SessionRepository } from "./ports.js";
import type { User } from "./types.js";

/**
 * The live view of an access token, for other services: introspection
 * (RFC 7662), Envoy external authorization and forward auth. The token's
 * signature alone cannot show a logout, a revocation, a deactivation or a
 * role change, so every check reads the session, its user and the user's
 * roles, in one query, on every call: every replica sees a change at its
 * next call, with no cache to go stale. It is the same read GetCurrentUser
 * makes, so a check costs what GetCurrentUser costs.
 */

/** The holder of a live access token. */
export interface Principal {
  readonly userId: string;
  readonly sessionId: string;
  /** Read now from the database, not from the token. */
  readonly roles: readonly string[];
  /** From the token: how its session was authenticated (RFC 8176). */
  readonly amr: readonly string[];
  readonly issuedAt: Date;
  readonly expiresAt: Date;
  readonly user: User;
}

/** RFC 7662: an inactive token is an answer with nothing else in it. */
export type Introspection = ({ readonly active: true } & Principal) | { readonly active: false };

/**
 * Envoy Check and /forward-auth. `no_token`: 401 `Bearer`; `invalid_token`:
 * 401 `Bearer error="invalid_token"`; `inactive_user`: 403 (README, Protecting other services).
 */
export type Authorization =
  | {
      readonly allowed: true;
      readonly userId: string;
      readonly sessionId: string;
      readonly roles: readonly string[];
    }
  | { readonly allowed: false; readonly kind: "no_token" | "invalid_token" | "inactive_user" };

export interface TokenChecksDeps {
  readonly accessTokens: AccessTokens;
  /** The session-with-user read of GetCurrentUser (the user's roles included). */
  readonly sessions: Pick<SessionRepository, "findSessionWithUser">;
  readonly clock: Clock;
}

/** Access tokens are ~500 characters; anything far longer is refused before any parsing. */
const MAX_TOKEN_LENGTH = 4096;

/** The reasons `authenticate` rejects a token with; any other error is an outage or a bug. */
const TOKEN_REJECTIONS = new Set(["INVALID_TOKEN", "TOKEN_EXPIRED", "TOKEN_REVOKED", "USER_INACTIVE"]);
const isRejection = (e: unknown) => isDomainError(e) && TOKEN_REJECTIONS.has(e.reason);

export type TokenChecks = ReturnType<typeof createTokenChecks>;

export function createTokenChecks(deps: TokenChecksDeps) {
  const { accessTokens, sessions, clock } = deps;

  /**
   * The principal of a live access token, or the error GetCurrentUser would
   * give: INVALID_TOKEN, TOKEN_EXPIRED, TOKEN_REVOKED or USER_INACTIVE. The
   * user's state is checked before the session's (a deactivation also ends
   * the sessions, and should be reported as what it is).
   */
  async function authenticate(accessToken: string | null): Promise<Principal> {
    if (!accessToken || accessToken.length > MAX_TOKEN_LENGTH) throw invalidToken("access token");
    const claims = await accessTokens.verify(accessToken);
    const found = await sessions.findSessionWithUser(claims.sessionId);
    if (!found || found.user.id !== claims.userId) throw invalidToken("access token");
    const { session, user } = found;
    if (!user.isActive) throw userInactive();
    if (session.revokedAt) throw tokenRevoked();
    if (+session.expiresAt <= +clock.now()) throw tokenExpired();
    return {
      userId: user.id,
      sessionId: session.id,
      roles: user.roles,
      amr: claims.amr,
      issuedAt: claims.issuedAt,
      expiresAt: claims.expiresAt,
      user,
    };
  }

  return {
    authenticate,

    /**
     * RFC 7662 introspection of an access token. Whatever is wrong with the
     * token (malformed, badly signed, expired, a refresh token, its session
     * ended, its user deactivated or deleted) is `{active: false}`; only an
     * empty request (VALIDATION_ERROR) and an outage (SERVICE_UNAVAILABLE) throw.
     */
    async introspect(token: string): Promise<Introspection> {
      const trimmed = token.trim();
      if (trimmed.length === 0) throw validationError([{ field: "token", description: "is required" }]);
      try {
        return { active: true, ...(await authenticate(trimmed)) };
      } catch (e) {
        if (isRejection(e)) return { active: false };
        throw e;
      }
    },

    /**
     * The decision for a proxy. `token` is the bearer token the request
     * presented, null when it presented none (no `authorization` header, or
     * one of another scheme): `no_token`; anything else that is not a live
     * access token (also "") is `invalid_token`, or `inactive_user`.
     */
    async authorize(token: string | null): Promise<Authorization> {
      if (token === null) return { allowed: false, kind: "no_token" };
      try {
        const p = await authenticate(token);
        return { allowed: true, userId: p.userId, sessionId: p.sessionId, roles: p.roles };
      } catch (e) {
        if (!isRejection(e)) throw e;
        return {
          allowed: false,
          kind: isDomainError(e) && e.reason === "USER_INACTIVE" ? "inactive_user" : "invalid_token",
        };
      }
    },
  };
}
