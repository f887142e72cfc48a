/** The part of better-sqlite3's Database that kysely calls for every query. */
export interface StatementPreparer {
  prepare(sql: string): unknown;
}

/**
 * kysely's SQLite driver prepares every statement anew. MikroORM inlines
 * values into the SQL text, so most statements are one-offs, but the
 * constant ones (begin, commit, savepoints, pragmas) run on every write:
 * those are prepared once and reused. Statements holding a string literal
 * are never kept, so per-user queries cannot fill the cache. Sharing is safe
 * because better-sqlite3 runs a statement to completion synchronously and the
 * service never streams rows; SQLite re-prepares a kept statement itself
 * after a schema change.
 */
export function cachePreparedStatements(db: StatementPreparer, max = 64): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, unknown>();
  db.prepare = (sql: string) => {
    let statement = cache.get(sql);
    if (statement === undefined) {
      statement = prepare(sql);
      if (cache.size < max && !sql.includes("'")) cache.set(sql, statement);
    }
    return statement;
  };
}
