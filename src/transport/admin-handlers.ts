import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { AdminService as AdminServiceDesc } from "../../gen/auth/v1/admin_pb.js";
import type { AdminCredentials, AdminService } from "../domain/admin-service.js";
import { CALL_CONTEXT } from "./call-context.js";
import { bearerToken, toSessionPb, toUserPb } from "./mappers.js";

/** Who asks: the call's bearer token and, for the audit line, where the call came from. */
function credentialsOf(ctx: HandlerContext): AdminCredentials {
  const { clientAddress, userAgent } = ctx.values.get(CALL_CONTEXT);
  return { accessToken: bearerToken(ctx.requestHeader.get("authorization")), clientAddress, userAgent };
}

/**
 * Thin handlers: decode, one AdminService call (which checks the caller's
 * `admin` role in the database, acts and audits), encode. Errors are mapped
 * by an interceptor.
 */
export function createAdminHandlers(admin: AdminService) {
  return {
    listUsers: async (req, ctx) => {
      const page = await admin.listUsers(credentialsOf(ctx), req);
      return { users: page.users.map(toUserPb), nextPageToken: page.nextPageToken };
    },
    getUser: async (req, ctx) => ({ user: toUserPb(await admin.getUser(credentialsOf(ctx), req.userId)) }),
    deactivateUser: async (req, ctx) => ({
      user: toUserPb(await admin.deactivateUser(credentialsOf(ctx), req.userId)),
    }),
    reactivateUser: async (req, ctx) => ({
      user: toUserPb(await admin.reactivateUser(credentialsOf(ctx), req.userId)),
    }),
    setUserRoles: async (req, ctx) => ({
      user: toUserPb(await admin.setUserRoles(credentialsOf(ctx), req.userId, req.roles)),
    }),
    listUserSessions: async (req, ctx) => ({
      sessions: (await admin.listUserSessions(credentialsOf(ctx), req.userId)).map(toSessionPb),
    }),
    revokeUserSessions: async (req, ctx) => ({
      revokedCount: await admin.revokeUserSessions(credentialsOf(ctx), req.userId),
    }),
    resetUserMfa: async (req, ctx) => ({ user: toUserPb(await admin.resetUserMfa(credentialsOf(ctx), req.userId)) }),
    deleteUser: async (req, ctx) => {
      await admin.deleteUser(credentialsOf(ctx), req.userId);
      return {};
    },
  } satisfies ServiceImpl<typeof AdminServiceDesc>;
}
