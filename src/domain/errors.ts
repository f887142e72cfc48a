/**
 * The one error type domain code throws. `reason` is the stable error code of
 * the wire contract (README, "Errors"); the transport maps it to a status code
 * in one table (ERROR_TABLE in src/transport/errors.ts). Messages are safe to
 * show a client.
 */
export type ErrorReason =
  | "VALIDATION_ERROR"
  | "USER_ALREADY_EXISTS"
  | "INVALID_CREDENTIALS"
  | "INVALID_TOKEN"
  | "TOKEN_EXPIRED"
  | "TOKEN_REVOKED"
  | "USER_INACTIVE"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "FAILED_PRECONDITION"
  | "RATE_LIMITED"
  | "SERVICE_UNAVAILABLE"
  | "INTERNAL_ERROR";

/** One invalid field of a request, reported as a google.rpc.BadRequest violation. */
export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

export interface DomainErrorOptions {
  readonly violations?: readonly FieldViolation[];
  /** For RATE_LIMITED: how long the client should wait. */
  readonly retryAfterMs?: number;
  /** The underlying error; logged, never sent to a client. */
  readonly cause?: unknown;
}

export class DomainError extends Error {
  override readonly name = "DomainError";
  readonly violations: readonly FieldViolation[];
  readonly retryAfterMs?: number;

  constructor(
    readonly reason: ErrorReason,
    message: string,
    options: DomainErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.violations = options.violations ?? [];
    this.retryAfterMs = options.retryAfterMs;
  }
}

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError;

export const validationError = (violations: readonly FieldViolation[]) =>
  new DomainError(
    "VALIDATION_ERROR",
    `invalid request: ${violations.map((v) => `${v.field} ${v.description}`).join("; ")}`,
    { violations },
  );

export const invalidCredentials = (message = "invalid e-mail/username or password") =>
  new DomainError("INVALID_CREDENTIALS", message);

export const invalidToken = (what = "token") => new DomainError("INVALID_TOKEN", `invalid ${what}`);

export const tokenExpired = () => new DomainError("TOKEN_EXPIRED", "token has expired");

export const tokenRevoked = () => new DomainError("TOKEN_REVOKED", "token has been revoked; sign in again");

export const userInactive = () => new DomainError("USER_INACTIVE", "account is deactivated");

export const userAlreadyExists = () =>
  new DomainError("USER_ALREADY_EXISTS", "e-mail or username is already registered");

/** The caller is signed in but lacks the role the call needs. */
export const forbidden = () => new DomainError("FORBIDDEN", "permission denied");

/** `what` (e.g. "user", "session") does not exist, or not for this caller. */
export const notFound = (what: string) => new DomainError("NOT_FOUND", `${what} not found`);

/** The account is not in the state the call needs; `message` says which state. */
export const failedPrecondition = (message: string) => new DomainError("FAILED_PRECONDITION", message);

export const serviceUnavailable = (cause?: unknown) =>
  new DomainError("SERVICE_UNAVAILABLE", "service temporarily unavailable, try again later", {
    cause,
  });
