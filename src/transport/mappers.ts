/** Pure conversions between domain values and protobuf messages. */

import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
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
