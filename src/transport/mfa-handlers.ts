import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { AccountService as AccountServiceDesc } from "../../gen/auth/v1/account_pb.js";
import type { AuthService } from "../domain/auth-service.js";
import type { MfaService } from "../domain/mfa-service.js";
import { CALL_CONTEXT } from "./call-context.js";
import { bearerToken } from "./mappers.js";

/** The second factor's RPCs of AccountService; the rest of the service has its own handlers. */
type MfaRpcs = "setupTotp" | "confirmTotp" | "disableTotp" | "regenerateRecoveryCodes";

/**
 * AccountService's TOTP and recovery-code RPCs, as a handler object to be
 * spread together with the other account handlers. Thin: the caller is
 * resolved from the access token the way GetCurrentUser resolves it, then
 * one second-factor call, then the answer.
 */
export function createMfaHandlers(auth: AuthService, mfa: MfaService) {
  const caller = (ctx: HandlerContext) => auth.authenticate(bearerToken(ctx.requestHeader.get("authorization")));
  return {
    setupTotp: async (req, ctx) => {
      const { user } = await caller(ctx);
      return mfa.setupTotp(user.id, req.password, ctx.values.get(CALL_CONTEXT));
    },
    confirmTotp: async (req, ctx) => {
      const { user, sessionId } = await caller(ctx);
      // The calling session stays; the others were opened without the factor.
      const { recoveryCodes } = await mfa.confirmTotp(user.id, req.code, {
        currentSessionId: sessionId,
        meta: ctx.values.get(CALL_CONTEXT),
      });
      return { recoveryCodes: [...recoveryCodes] };
    },
    disableTotp: async (req, ctx) => {
      const { user } = await caller(ctx);
      await mfa.disableTotp(user.id, req.password, ctx.values.get(CALL_CONTEXT));
      return {};
    },
    regenerateRecoveryCodes: async (req, ctx) => {
      const { user } = await caller(ctx);
      return {
        recoveryCodes: [...(await mfa.regenerateRecoveryCodes(user.id, req.password, ctx.values.get(CALL_CONTEXT)))],
      };
    },
  } satisfies Pick<ServiceImpl<typeof AccountServiceDesc>, MfaRpcs>;
}
