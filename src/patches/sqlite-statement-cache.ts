/**
 * PATCH: statement reuse for kysely's SQLite driver.
 *
 * Works around: kysely's `SqliteConnection.executeQuery` calls `db.prepare(sql)` for every
 * query and drops the statement afterwards, so SQLite parses and plans the same text again
 * on every call (no upstream issue; kysely leaves statement caching to the driver, and
 * better-sqlite3 has none: WiseLibs/better-sqlite3#793 answers "cache them" in the app).
 * Targets: kysely 0.29.6 (under @mikro-orm/sqlite 7.2.1), better-sqlite3 13.0.3.
 * Canary: test/patches/sqlite-statement-cache.test.ts fails once kysely prepares a repeated
 * statement only once; then delete this file and its call in src/db/orm.ts.
 *
 * Statements without a string literal are kept (at most `max`): the repositories' parameterised
 * queries and the constant ones (begin, commit, savepoints, pragmas). MikroORM's own queries
 * inline values into the SQL text; those holding a quoted literal are never kept, so per-user
 * queries cannot fill the cache. Sharing is safe because better-sqlite3 runs a statement to
 * completion synchronously and the service never streams rows; SQLite re-prepares a kept
 * statement itself after a schema change.
 */

/** The part of better-sqlite3's Database that kysely calls for every query. */
export interface StatementPreparer {
  prepare(sql: string): unknown;
}

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
