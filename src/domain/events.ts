/**
 * Security-relevant things that happen in the domain. The transport layer
 * turns them into audit log lines and metrics, adding the request id and
 * client address from the call's context. Never carries secrets.
 */
export type AuthEventName =
  | "register"
  | "login"
  | "refresh"
  | "refresh_reuse_detected"
  | "logout"
  | "rate_limited"
  // The account lifecycle (src/domain/account-service.ts).
  | "password_changed"
  | "password_reset_requested"
  | "password_reset"
  | "email_verification_requested"
  | "email_verified"
  | "session_revoked"
  | "account_deleted";

export interface AuthEvent {
  readonly event: AuthEventName;
  /** `ignored`: a mail request that queued nothing (unknown or deactivated address, per-account limit). */
  readonly outcome: "success" | "failure" | "replayed" | "revoked" | "blocked" | "ignored";
  readonly userId?: string;
  readonly sessionId?: string;
  /** The error code of a failure. */
  readonly reason?: string;
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
