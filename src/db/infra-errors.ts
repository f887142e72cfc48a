import { ConnectionException, UniqueConstraintViolationException } from "@mikro-orm/core";

/**
 * What a database error means, decided in this one place from the codes the
 * drivers attach (`code`: a PostgreSQL SQLSTATE or an SQLite result code;
 * MikroORM's exceptions keep the driver's code).
 *
 * Only a failure of the database itself — no connection, a dropped one, a
 * timeout, a locked or failing file — is an outage: it becomes
 * SERVICE_UNAVAILABLE and counts towards the circuit breaker. Anything else
 * came from a database that answered, often about the data of one request,
 * and must never let one caller open the circuit for everyone.
 */

const codeOf = (e: unknown): string | undefined => {
  if (typeof e !== "object" || e === null || !("code" in e)) return undefined;
  return typeof e.code === "string" ? e.code : undefined;
};

/** Socket errors of the client and the SQLite result codes of a file that cannot be used. */
const INFRA_CODE =
  /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|SQLITE_(BUSY|LOCKED|IOERR|CANTOPEN|FULL|NOMEM|CORRUPT|NOTADB|READONLY|PROTOCOL)(_\w+)?)$/;

/**
 * PostgreSQL SQLSTATEs of an outage: connection exceptions (class 08, but not
 * 08P01, see isDataError), too many connections or no disk (53), the server
 * shutting down or not yet accepting (57P01-57P05), a statement cancelled by
 * `statement_timeout` (57014), and system or I/O errors (58).
 */
const INFRA_SQLSTATE = /^(08(?!P01)...|53...|57P0[1-5]|57014|58...)$/;

/** What pg and the pool say, without a code, when the connection is gone or never came. */
const INFRA_MESSAGE =
  /connection terminated|timeout exceeded when trying to connect|query read timeout|client has encountered a connection error|database is locked|database connection is not open|connection is closed/i;

/** True for a failure of the database itself: SERVICE_UNAVAILABLE, counted by the breaker. */
export function isInfrastructureError(e: unknown): boolean {
  if (e instanceof ConnectionException) return true;
  if (!(e instanceof Error)) return false;
  const code = codeOf(e);
  if (code !== undefined && (INFRA_CODE.test(code) || INFRA_SQLSTATE.test(code))) return true;
  return INFRA_MESSAGE.test(e.message);
}

/**
 * True when the data of the request itself made the database refuse the
 * statement: a data exception (SQLSTATE class 22, e.g. 22021 for a NUL byte
 * in a text parameter, 22001 for a value too long), or a protocol violation
 * (08P01), which is what PostgreSQL answers when such a byte reaches it inside
 * the SQL text, as MikroORM's inlined values do. SQLite: a value too big.
 * A client error (VALIDATION_ERROR), never an outage.
 */
export function isDataError(e: unknown): boolean {
  const code = codeOf(e);
  return code !== undefined && (/^22...$/.test(code) || code === "08P01" || code === "SQLITE_TOOBIG");
}

/** A unique index refused the row (PostgreSQL 23505, SQLite SQLITE_CONSTRAINT_UNIQUE or _PRIMARYKEY). */
export function isUniqueViolation(e: unknown): boolean {
  if (e instanceof UniqueConstraintViolationException) return true;
  const code = codeOf(e);
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}
