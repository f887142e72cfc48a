import { ConstraintViolationException, DriverException } from "@mikro-orm/core";

/**
 * True for failures of the database itself — refused or dropped connections,
 * timeouts, a locked file — as opposed to errors the caller caused. These
 * become SERVICE_UNAVAILABLE and count towards the circuit breaker.
 */
export function isInfrastructureError(e: unknown): boolean {
  if (e instanceof ConstraintViolationException) return false;
  if (e instanceof DriverException) return true;
  if (!(e instanceof Error)) return false;
  const code = (e as NodeJS.ErrnoException).code;
  if (
    typeof code === "string" &&
    /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND|SQLITE_BUSY|SQLITE_LOCKED|SQLITE_IOERR.*|57P0[1-3]|08.*)$/.test(
      code,
    )
  ) {
    return true;
  }
  return /connection terminated|timeout exceeded when trying to connect|Connection terminated|database is locked|Client has encountered a connection error/i.test(
    e.message,
  );
}
