/** The part of better-sqlite3's Database that kysely calls for every query. */
export interface StatementPreparer {
  prepare(sql: string): unknown;
}

/**
 * kysely's SQLite driver prepares every statement anew, about a tenth of a
 * Refresh's CPU (bench/profile.ts). The service runs a few dozen distinct
 * statements, so each is prepared once and reused. Sharing is safe because
 * better-sqlite3 runs a statement to completion synchronously and the
 * service never streams rows (a statement being iterated could not be
 * shared); SQLite re-prepares a cached statement itself after a schema change.
 */
export function cachePreparedStatements(db: StatementPreparer, max = 256): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, unknown>();
  db.prepare = (sql: string) => {
    let statement = cache.get(sql);
    if (statement === undefined) {
      statement = prepare(sql);
      if (cache.size < max) cache.set(sql, statement);
    }
    return statement;
  };
}
