/** Plain domain types: no protobuf, no ORM. */

export interface User {
  readonly id: string;
  readonly email: string;
  readonly username: string;
  readonly isActive: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly lastLoginAt: Date | null;
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

/** Claims of a verified access token that the service relies on. */
export interface AccessClaims {
  readonly userId: string;
  readonly sessionId: string;
  readonly tokenId: string;
}

export interface Session {
  readonly id: string;
  readonly userId: string;
  readonly createdAt: Date;
  /** Absolute end of the session; rotation never extends it. */
  readonly expiresAt: Date;
  readonly revokedAt: Date | null;
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
  /** The session's user, read with the token so Refresh needs no second lookup. */
  readonly user: User;
}
