import type { ServiceImpl } from "@connectrpc/connect";
import type { AuthService as AuthServiceDesc } from "../../gen/auth/v1/auth_pb.js";
import type { AuthService } from "../domain/auth-service.js";
import type { AuthResult, LoginResult } from "../domain/types.js";
import { CALL_CONTEXT } from "./call-context.js";
import { bearerToken, toMfaChallengePb, toTokenPairPb, toUserPb } from "./mappers.js";

const result = (r: AuthResult) => ({ user: toUserPb(r.user), tokens: toTokenPairPb(r.tokens) });

/** A session, or (second factor) only the challenge: exactly one of them is set. */
const loginResult = (r: LoginResult) => ("mfa" in r ? { mfa: toMfaChallengePb(r.mfa) } : result(r));

/**
 * Thin handlers: decode, one service call with the caller's call context as
 * its RequestMeta, encode. Errors are mapped by an interceptor.
 */
export function createAuthHandlers(auth: AuthService) {
  return {
    register: async (req, ctx) => result(await auth.register(req, ctx.values.get(CALL_CONTEXT))),
    login: async (req, ctx) => loginResult(await auth.login(req, ctx.values.get(CALL_CONTEXT))),
    refresh: async (req, ctx) => result(await auth.refresh(req.refreshToken, ctx.values.get(CALL_CONTEXT))),
    logout: async (req, ctx) => {
      await auth.logout(req.refreshToken, ctx.values.get(CALL_CONTEXT));
      return {};
    },
    getCurrentUser: async (_req, ctx) => ({
      user: toUserPb(await auth.currentUser(bearerToken(ctx.requestHeader.get("authorization")))),
    }),
    verifyMfa: async (req, ctx) =>
      result(await auth.verifyMfa(req.challengeToken, req.code, ctx.values.get(CALL_CONTEXT))),
  } satisfies ServiceImpl<typeof AuthServiceDesc>;
}
