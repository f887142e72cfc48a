import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { TokenService as TokenServiceDesc } from "../../gen/auth/v1/token_pb.js";
import type { TokenChecks } from "../domain/token-checks.js";
import { toUserPb } from "./mappers.js";

/**
 * TokenService: RFC 7662 introspection of access tokens. Public (no bearer
 * token of its own; see the RPC's comment in proto/auth/v1/token.proto): an
 * inactive answer is `active: false` and nothing else, whatever made the
 * token inactive, so it tells a caller nothing they could not learn by
 * using the token.
 */
export function createTokenHandlers(checks: TokenChecks) {
  return {
    introspectToken: async (req) => {
      const r = await checks.introspect(req.token);
      if (!r.active) return { active: false };
      return {
        active: true,
        userId: r.userId,
        sessionId: r.sessionId,
        roles: [...r.roles],
        amr: [...r.amr],
        issuedAt: timestampFromDate(r.issuedAt),
        expiresAt: timestampFromDate(r.expiresAt),
        user: toUserPb(r.user),
      };
    },
  } satisfies ServiceImpl<typeof TokenServiceDesc>;
}
