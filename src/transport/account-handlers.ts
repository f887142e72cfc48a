import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { AccountService as AccountServiceDesc } from "../../gen/auth/v1/account_pb.js";
import type { AccountCaller } from "../domain/account-ports.js";
import type { AccountService } from "../domain/account-service.js";
import type { AuthService } from "../domain/auth-service.js";
import { CALL_CONTEXT } from "./call-context.js";
import { bearerToken, toSessionPb } from "./mappers.js";

/**
 * Thin handlers of auth.v1.AccountService: decode, one account call, encode.
 * Calls that need a signed-in user first pass the access token through the
 * same check GetCurrentUser makes (AuthService.authenticate), which also
 * names the caller's session. Errors are mapped by an interceptor.
 *
 * The second-factor RPCs (SetupTotp, ConfirmTotp, DisableTotp,
 * RegenerateRecoveryCodes) are not here: this is a plain object, so the
 * routes can serve `{ ...accountHandlers, ...mfaHandlers }` as one service.
 */
export function createAccountHandlers(auth: AuthService, account: AccountService) {
  const caller = async (ctx: HandlerContext): Promise<AccountCaller> => {
    const { user, sessionId } = await auth.authenticate(bearerToken(ctx.requestHeader.get("authorization")));
    return { userId: user.id, sessionId };
  };
  const meta = (ctx: HandlerContext) => ctx.values.get(CALL_CONTEXT);

  return {
    changePassword: async (req, ctx) => {
      await account.changePassword(await caller(ctx), req, meta(ctx));
      return {};
    },
    requestPasswordReset: async (req, ctx) => {
      await account.requestPasswordReset(req, meta(ctx));
      return {};
    },
    resetPassword: async (req, ctx) => {
      await account.resetPassword(req, meta(ctx));
      return {};
    },
    sendVerificationEmail: async (_req, ctx) => {
      await account.sendVerificationEmail(await caller(ctx), meta(ctx));
      return {};
    },
    verifyEmail: async (req, ctx) => {
      await account.verifyEmail(req, meta(ctx));
      return {};
    },
    listSessions: async (_req, ctx) => ({
      sessions: (await account.listSessions(await caller(ctx))).map(toSessionPb),
    }),
    revokeSession: async (req, ctx) => {
      await account.revokeSession(await caller(ctx), req.sessionId, meta(ctx));
      return {};
    },
    revokeOtherSessions: async (_req, ctx) => ({
      revokedCount: await account.revokeOtherSessions(await caller(ctx), meta(ctx)),
    }),
    deleteAccount: async (req, ctx) => {
      await account.deleteAccount(await caller(ctx), req, meta(ctx));
      return {};
    },
  } satisfies Partial<ServiceImpl<typeof AccountServiceDesc>>;
}
