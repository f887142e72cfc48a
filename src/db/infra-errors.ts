import { ConstraintViolationException, DriverException, UniqueConstraintViolationException } from "@mikro-orm/core";

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
  // The repositories' kysely queries throw the driver's own errors, which
  // MikroORM has not converted: any SQLSTATE but a constraint's (class 23)
  // counts, as any DriverException does.
  if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && !code.startsWith("23")) return true;
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

/** A unique index refused the row (PostgreSQL 23505, SQLite SQLITE_CONSTRAINT_UNIQUE or _PRIMARYKEY). */
export function isUniqueViolation(e: unknown): boolean {
  if (e instanceof UniqueConstraintViolationException) return true;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}
