import type { ServiceImpl } from "@connectrpc/connect";
import type { AuthService as AuthServiceDesc } from "../../gen/auth/v1/auth_pb.js";
import type { AuthService } from "../domain/auth-service.js";
import { DomainError } from "../domain/errors.js";
import type { AuthResult } from "../domain/types.js";
import { CALL_CONTEXT } from "./call-context.js";
import { bearerToken, toTokenPairPb, toUserPb } from "./mappers.js";

const result = (r: AuthResult) => ({ user: toUserPb(r.user), tokens: toTokenPairPb(r.tokens) });

/**
 * Thin handlers: decode, one service call with the caller's call context as
 * its RequestMeta, encode. Errors are mapped by an interceptor.
 */
export function createAuthHandlers(auth: AuthService) {
  return {
    register: async (req, ctx) => result(await auth.register(req, ctx.values.get(CALL_CONTEXT))),
    login: async (req, ctx) => result(await auth.login(req, ctx.values.get(CALL_CONTEXT))),
    refresh: async (req, ctx) => result(await auth.refresh(req.refreshToken, ctx.values.get(CALL_CONTEXT))),
    logout: async (req, ctx) => {
      await auth.logout(req.refreshToken, ctx.values.get(CALL_CONTEXT));
      return {};
    },
    getCurrentUser: async (_req, ctx) => ({
      user: toUserPb(await auth.currentUser(bearerToken(ctx.requestHeader.get("authorization")))),
    }),
    // Until second factors exist (issue 14) no Login returns a challenge, so
    // every challenge token presented is unknown: INVALID_TOKEN, as the
    // contract answers a dead challenge.
    verifyMfa: () => {
      throw new DomainError("INVALID_TOKEN", "invalid or expired MFA challenge");
    },
  } satisfies ServiceImpl<typeof AuthServiceDesc>;
}
