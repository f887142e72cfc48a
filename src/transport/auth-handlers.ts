import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import type { AuthService as AuthServiceDesc } from "../../gen/auth/v1/auth_pb.js";
import type { AuthService } from "../domain/auth-service.js";
import type { AuthResult } from "../domain/types.js";
import { bearerToken, toTokenPairPb, toUserPb } from "./mappers.js";

const result = (r: AuthResult) => ({ user: toUserPb(r.user), tokens: toTokenPairPb(r.tokens) });

/** Thin handlers: decode, one service call, encode. Errors are mapped by an interceptor. */
export function createAuthHandlers(auth: AuthService) {
  return {
    register: async (req) => result(await auth.register(req)),
    login: async (req) => result(await auth.login(req)),
    refresh: async (req) => result(await auth.refresh(req.refreshToken)),
    logout: async (req) => {
      await auth.logout(req.refreshToken);
      return {};
    },
    getCurrentUser: async (_req, ctx) => ({
      user: toUserPb(await auth.currentUser(bearerToken(ctx.requestHeader.get("authorization")))),
    }),
    // The wire contract declares VerifyMfa already; until second factors
    // exist no Login ever returns a challenge to verify.
    verifyMfa: () => {
      throw new ConnectError("second factors are not supported yet", Code.Unimplemented);
    },
  } satisfies ServiceImpl<typeof AuthServiceDesc>;
}
