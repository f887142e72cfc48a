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
  | "mfa_enabled"
  | "mfa_disabled"
  | "mfa_reset"
  | "recovery_codes_regenerated"
  | "mfa_challenge_failed";

export interface AuthEvent {
  readonly event: AuthEventName;
  readonly outcome: "success" | "failure" | "replayed" | "revoked" | "blocked";
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
