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
  | "mfa_challenge_issued";

export interface AuthEvent {
  readonly event: AuthEventName;
  readonly outcome: "success" | "failure" | "replayed" | "revoked" | "blocked";
  readonly userId?: string;
  readonly sessionId?: string;
  /** The error code of a failure. */
  readonly reason?: string;
  /** Where the call came from (RequestMeta.clientAddress). */
  readonly clientAddress?: string;
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
