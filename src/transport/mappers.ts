/** Pure conversions between domain values and protobuf messages. */

import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Session as SessionPb, SessionSchema } from "../../gen/auth/v1/account_pb.js";
import {
  type TokenPair as TokenPairPb,
  TokenPairSchema,
  type User as UserPb,
  UserSchema,
} from "../../gen/auth/v1/auth_pb.js";
import type { AccountSession } from "../domain/account-service.js";
import type { TokenPair, User } from "../domain/types.js";

export const toUserPb = (u: User): UserPb =>
  create(UserSchema, {
    id: u.id,
    email: u.email,
    username: u.username,
    isActive: u.isActive,
    createdAt: timestampFromDate(u.createdAt),
    updatedAt: timestampFromDate(u.updatedAt),
    lastLoginAt: u.lastLoginAt ? timestampFromDate(u.lastLoginAt) : undefined,
    emailVerified: u.emailVerified,
  });

export const toTokenPairPb = (t: TokenPair): TokenPairPb =>
  create(TokenPairSchema, {
    accessToken: t.accessToken,
    refreshToken: t.refreshToken,
    tokenType: t.tokenType,
    expiresIn: t.expiresIn,
    refreshExpiresIn: t.refreshExpiresIn,
  });

/** The token of an `authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | null): string | null {
  const m = header ? /^Bearer[ ]+([^\s]+)\s*$/i.exec(header) : null;
  return m?.[1] ?? null;
}

export const toSessionPb = (s: AccountSession): SessionPb =>
  create(SessionSchema, {
    id: s.id,
    createdAt: timestampFromDate(s.createdAt),
    lastUsedAt: timestampFromDate(s.lastUsedAt),
    expiresAt: timestampFromDate(s.expiresAt),
    clientAddress: s.clientAddress,
    userAgent: s.userAgent,
    current: s.current,
  });
