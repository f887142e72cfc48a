import type { AuthEvents } from "../domain/events.js";
import type { Logger } from "../logger.js";

/**
 * The audit trail (ASVS 16.2.1, 16.3.1): one `message:"audit"` line per
 * domain event with who (user_id when known; for admin actions the actor
 * and the target_user_id), what (event, outcome, reason), where
 * (client_address) and which call (request_id, added by the logger); the
 * logger stamps when. Events carry no secrets by construction,
 * and the fields are copied one by one so nothing else can slip in.
 */
export function createAuditLog(logger: Logger): AuthEvents {
  return {
    emit: (e) =>
      logger.info("audit", {
        event: e.event,
        outcome: e.outcome,
        user_id: e.userId,
        session_id: e.sessionId,
        reason: e.reason,
        actor: e.actor,
        target_user_id: e.targetUserId,
        roles: e.roles,
        count: e.count,
        client_address: e.clientAddress,
      }),
  };
}
