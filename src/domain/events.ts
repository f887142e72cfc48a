/**
 * Security-relevant things that happen in the domain, for the audit log
 * (src/audit/audit-log.ts, which the logger stamps with the request id) and
 * the metrics. Never carries secrets.
 */
export type AuthEventName =
  | "register"
  | "login"
  | "refresh"
  | "refresh_reuse_detected"
  | "logout"
  | "rate_limited"
  | "mfa_enabled"
  | "mfa_disabled"
  | "mfa_reset"
  | "recovery_codes_regenerated"
  | "mfa_challenge_failed"
  | "mfa_challenge_issued"
  // The account lifecycle (src/domain/account-service.ts).
  | "password_changed"
  | "password_reset_requested"
  | "password_reset"
  | "email_verification_requested"
  | "email_verified"
  | "session_revoked"
  | "account_deleted"
  | AdminEventName;

/** One per AdminService action (reads included: who looked at whom is audited too), and refusals. */
export type AdminEventName =
  | "admin_denied"
  | "admin_list_users"
  | "admin_get_user"
  | "admin_deactivate_user"
  | "admin_reactivate_user"
  | "admin_set_user_roles"
  | "admin_list_user_sessions"
  | "admin_revoke_user_sessions"
  | "admin_reset_user_mfa"
  | "admin_delete_user"
  | "role_granted"
  | "role_revoked";

export interface AuthEvent {
  readonly event: AuthEventName;
  /** `ignored`: a mail request that queued nothing (unknown or deactivated address, per-account limit). */
  readonly outcome: "success" | "failure" | "replayed" | "revoked" | "blocked" | "ignored";
  readonly userId?: string;
  readonly sessionId?: string;
  /** The error code of a failure. */
  readonly reason?: string;
  /** Where the call came from (RequestMeta.clientAddress). */
  readonly clientAddress?: string;
  /** Who did it, for admin actions: the admin's user id, or `cli:<os user>` for the admin command. */
  readonly actor?: string;
  /** The user an admin action was aimed at. */
  readonly targetUserId?: string;
  /** Role names (not secret): the roles a user was given. */
  readonly roles?: readonly string[];
  /** How many things the action affected (sessions revoked). */
  readonly count?: number;
}

export interface AuthEvents {
  emit(event: AuthEvent): void;
}

/** Fans one event out to several sinks (audit log, metrics). */
export const combineEvents = (...sinks: AuthEvents[]): AuthEvents => ({
  emit: (event) => {
    for (const sink of sinks) sink.emit(event);
  },
});
