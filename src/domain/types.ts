/** Plain domain types: no protobuf, no ORM. */

export interface User {
  readonly id: string;
  readonly email: string;
  readonly username: string;
  readonly isActive: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly lastLoginAt: Date | null;
  /** Role names, sorted and distinct (see roles.ts); `[]` when none. */
  readonly roles: readonly string[];
  /** Proven by a verification link or a password reset (both reach the mailbox). */
  readonly emailVerified: boolean;
  /** Whether a confirmed second factor guards the account (Login then answers with a challenge). */
  readonly mfaEnabled: boolean;
}

/** A user together with the stored password hash; never leaves the domain. */
export interface UserCredentials {
  readonly user: User;
  readonly passwordHash: string;
}

export interface TokenPair {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly tokenType: "Bearer";
  readonly expiresIn: number;
  readonly refreshExpiresIn: number;
}

/** What callers get back from Register, Login and Refresh. */
export interface AuthResult {
  readonly user: User;
  readonly tokens: TokenPair;
}

/** What Login answers instead of tokens when the account has a confirmed second factor. */
export interface MfaChallengeOffer {
  /** Opaque; VerifyMfa takes it back with a code. */
  readonly challengeToken: string;
  /** `"totp"`, and `"recovery_code"` while unused ones are left. */
  readonly methods: readonly string[];
  /** Seconds the challenge lives (at most 300). */
  readonly expiresIn: number;
}

/** Login's answer: a session, or the challenge a second factor must answer first. */
export type LoginResult = AuthResult | { readonly mfa: MfaChallengeOffer };

/** Claims of a verified access token that the service relies on. */
export interface AccessClaims {
  readonly userId: string;
  readonly sessionId: string;
  readonly tokenId: string;
  /** The user's roles when the token was issued; AdminService and the token checks read them fresh instead. */
  readonly roles: readonly string[];
  /** RFC 8176 authentication methods of the session: `["pwd"]`, or with a second factor `["pwd","otp"]`. */
  readonly amr: readonly string[];
  readonly issuedAt: Date;
  readonly expiresAt: Date;
}

export interface Session {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: Date;
  /** Absolute end of the session; rotation never extends it. */
  readonly expiresAt: Date;
  readonly revokedAt: Date | null;
  /** RFC 8176 methods the session was opened with (`["pwd"]`, `["pwd","otp"]`); refreshes keep them. */
  readonly amr: readonly string[];
}

/** Who a verified access token stands for: its user (read now) and its open session. */
export interface Caller {
  readonly user: User;
  readonly sessionId: string;
}

/** A stored refresh token, as found by its hash. */
export interface RefreshTokenRecord {
  readonly tokenHash: string;
  readonly sessionId: string;
  readonly userId: string;
  /** When it was issued: the instant its predecessor was rotated. */
  readonly createdAt: Date;
  readonly expiresAt: Date;
  /** When it was exchanged for its successor; null while it is current. */
  readonly rotatedAt: Date | null;
  /** The successor pair, sealed with a key only the token's holder can derive. */
  readonly successor: string | null;
  readonly sessionExpiresAt: Date;
  readonly sessionRevokedAt: Date | null;
  /** The session's amr, for the access tokens a refresh issues. */
  readonly sessionAmr: readonly string[];
  /** The session's user, read with the token so Refresh needs no second lookup. */
  readonly user: User;
}

/**
 * What the transport knows about the caller of a domain operation, passed
 * in by the handler: the audit trail and the rate limits record the
 * address, sessions will record both.
 */
export interface RequestMeta {
  /** The client's address: the socket peer, or x-forwarded-for from a trusted proxy. */
  readonly clientAddress: string;
  /** The User-Agent header as sent ("" when absent); never trusted for anything. */
  readonly userAgent: string;
}
