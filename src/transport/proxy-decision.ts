import type { Authorization } from "../domain/token-checks.js";
import { createWireError, type WireError } from "./errors.js";

/**
 * What the two proxy-facing token checks (Envoy's Check, GET /forward-auth)
 * say for a decision of TokenChecks.authorize, in one place so they cannot
 * drift apart: the identity headers of an allowed request, and the HTTP
 * status, `www-authenticate` challenge and error of a denied one (README, Protecting other services).
 */

/** The headers an allowed request is forwarded with. A proxy must replace any the client sent. */
export const IDENTITY_HEADERS = {
  userId: "x-user-id",
  sessionId: "x-session-id",
  /** Comma-separated role names, sorted; empty when the user has none. */
  roles: "x-user-roles",
} as const;

export function identityHeaders(a: Extract<Authorization, { allowed: true }>): ReadonlyArray<[string, string]> {
  return [
    [IDENTITY_HEADERS.userId, a.userId],
    [IDENTITY_HEADERS.sessionId, a.sessionId],
    [IDENTITY_HEADERS.roles, a.roles.join(",")],
  ];
}

export interface Denial {
  /** 401 for no or a bad token, 403 for a deactivated user. */
  readonly httpStatus: 401 | 403;
  /** RFC 6750 §3: `Bearer` when no token came, else `Bearer error="invalid_token"`. */
  readonly wwwAuthenticate: string;
  /** The error the denied client is shown (the JSON body of the HTTP routes). */
  readonly wire: WireError;
}

/**
 * The denial for a refused request. A deactivated user's token is refused
 * with 403 (the account, not the token, is the problem), still with the
 * `invalid_token` challenge: whatever the client does, this token will not
 * work again. Which of expired, revoked or forged a bad token was is not
 * told: the proxy's client learns only that it must sign in again.
 */
export function denialOf(kind: Extract<Authorization, { allowed: false }>["kind"]): Denial {
  switch (kind) {
    case "no_token":
      return {
        httpStatus: 401,
        wwwAuthenticate: "Bearer",
        wire: createWireError("INVALID_TOKEN", "missing access token"),
      };
    case "invalid_token":
      return {
        httpStatus: 401,
        wwwAuthenticate: 'Bearer error="invalid_token"',
        wire: createWireError("INVALID_TOKEN", "invalid access token"),
      };
    case "inactive_user":
      return {
        httpStatus: 403,
        wwwAuthenticate: 'Bearer error="invalid_token"',
        wire: createWireError("USER_INACTIVE", "account is deactivated"),
      };
  }
}
