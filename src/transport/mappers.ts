/** Pure conversions between domain values and protobuf messages. */

import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Session as SessionPb, SessionSchema } from "../../gen/auth/v1/account_pb.js";
import {
  type MfaChallenge as MfaChallengePb,
  MfaChallengeSchema,
  type TokenPair as TokenPairPb,
  TokenPairSchema,
  type User as UserPb,
  UserSchema,
} from "../../gen/auth/v1/auth_pb.js";
import type { MfaChallengeOffer, TokenPair, User } from "../domain/types.js";

export const toUserPb = (u: User): UserPb =>
  create(UserSchema, {
    id: u.id,
    email: u.email,
    username: u.username,
    isActive: u.isActive,
    createdAt: timestampFromDate(u.createdAt),
    updatedAt: timestampFromDate(u.updatedAt),
    lastLoginAt: u.lastLoginAt ? timestampFromDate(u.lastLoginAt) : undefined,
    roles: [...u.roles],
    emailVerified: u.emailVerified,
    mfaEnabled: u.mfaEnabled,
  });

export const toTokenPairPb = (t: TokenPair): TokenPairPb =>
  create(TokenPairSchema, {
    accessToken: t.accessToken,
    refreshToken: t.refreshToken,
    tokenType: t.tokenType,
    expiresIn: t.expiresIn,
    refreshExpiresIn: t.refreshExpiresIn,
  });

export const toMfaChallengePb = (c: MfaChallengeOffer): MfaChallengePb =>
  create(MfaChallengeSchema, { challengeToken: c.challengeToken, methods: [...c.methods], expiresIn: c.expiresIn });

/** The token of an `authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | null): string | null {
  const m = header ? /^Bearer[ ]+([^\s]+)\s*$/i.exec(header) : null;
  return m?.[1] ?? null;
}

/**
 * For the token checks (Envoy Check, /forward-auth), which answer "no
 * token" and "a bad token" differently: null when the request presented no
 * bearer token (no header, or another scheme such as Basic), else what
 * bearerToken finds, "" when `Bearer` came with nothing usable.
 */
export function presentedBearerToken(header: string | null | undefined): string | null {
  const value = header?.trim() ?? "";
  if (!/^bearer(?:\s|$)/i.test(value)) return null;
  return bearerToken(value) ?? "";
}

/** A session as a list shows it; the details are absent for sessions made before they were recorded. */
export interface SessionView {
  readonly id: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly current: boolean;
  /** Last login or refresh; the creation time when never refreshed. */
  readonly lastUsedAt?: Date | null;
  readonly clientAddress?: string | null;
  readonly userAgent?: string | null;
}

export const toSessionPb = (s: SessionView): SessionPb =>
  create(SessionSchema, {
    id: s.id,
    createdAt: timestampFromDate(s.createdAt),
    lastUsedAt: timestampFromDate(s.lastUsedAt ?? s.createdAt),
    expiresAt: timestampFromDate(s.expiresAt),
    clientAddress: s.clientAddress ?? "",
    userAgent: s.userAgent ?? "",
    current: s.current,
  });
