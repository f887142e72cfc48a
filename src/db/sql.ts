import type { InferKyselyDB, Kysely } from "@mikro-orm/sqlite";
// Types only: kysely is MikroORM's query builder (`em.getKysely()`), pinned in package.json to the version MikroORM brings.
import type { CompiledQuery, QueryResult } from "kysely";
import type { DatabaseConfig } from "../config.js";
import type {
  AccountTokenSchema,
  MailOutboxSchema,
  MfaChallengeSchema,
  RecoveryCodeSchema,
  RefreshTokenSchema,
  SessionSchema,
  TotpFactorSchema,
  UserSchema,
} from "./entities.js";
import type { Orm } from "./orm.js";
import { registerHotStatement } from "./pg-named-statements.js";

/**
 * A date as the driver stores and returns it: epoch milliseconds on SQLite, a
 * timestamp string on PostgreSQL (MikroORM turns off pg's own date parsing).
 */
export type StoredDate = Date | number | string;

/** A column's value as it crosses the driver: dates as stored, booleans as 0/1 on SQLite. */
type Stored<V> = V extends Date ? StoredDate : V extends boolean ? boolean | number : V;
type StoredColumn<C> = C extends {
  readonly __select__: infer S;
  readonly __insert__: infer I;
  readonly __update__: infer U;
}
  ? { readonly __select__: Stored<S>; readonly __insert__: Stored<I>; readonly __update__: Stored<U> }
  : Stored<C>;
type Schemas<Options extends { processOnCreateHooks?: boolean }> = InferKyselyDB<
  | typeof UserSchema
  | typeof SessionSchema
  | typeof RefreshTokenSchema
  // The account lifecycle (account-repository.ts, outbox-repository.ts).
  | typeof AccountTokenSchema
  | typeof MailOutboxSchema
  // The second factor (mfa-factor-repository.ts, mfa-challenge-repository.ts).
  | typeof TotpFactorSchema
  | typeof RecoveryCodeSchema
  | typeof MfaChallengeSchema,
  Options
>;
type AsStored<S> = { [T in keyof S]: { [C in keyof S[T]]: StoredColumn<S[T][C]> } };

/**
 * The tables and columns as kysely sees them, inferred from the defineEntity
 * schemas in entities.ts: a misspelt column or table is a compile error, and
 * no column name is written down anywhere else.
 */
export type Tables = AsStored<Schemas<{ processOnCreateHooks: false }>>;
/** The same, where columns the entities fill on create (ids, timestamps) may be left out of an insert. */
export type EntityTables = AsStored<Schemas<{ processOnCreateHooks: true }>>;

/** A row as a select returns it: the named columns of one table, as stored. */
export type Row<T extends keyof Tables, C extends keyof Tables[T]> = {
  [K in C]: Tables[T][K] extends { readonly __select__: infer S } ? S : Tables[T][K];
};

/**
 * The repositories' SQL: MikroORM's kysely instance (`em.getKysely()`), so
 * queries share the ORM's connections, pool and transaction handling, with
 * bound parameters (MikroORM's own queries inline values into the SQL text).
 * Values are converted by the same platform code MikroORM's writes use.
 */
export interface Sql {
  readonly dialect: DatabaseConfig["kind"];
  /** The query builder; values cross as stored (see toDb, date, flag). For the hot paths. */
  db(): Kysely<Tables>;
  /**
   * The query builder with the entities' onCreate/onUpdate hooks applied and
   * values converted (plain dates and booleans in, converted rows out of
   * unaliased columns), so writes keep the entities' defaults. It costs a
   * rewrite of every query: for the paths that are not hot.
   */
  entityDb(): Kysely<EntityTables>;
  toDb(d: Date): StoredDate;
  /** A boolean as the driver binds it (better-sqlite3 takes no booleans; convertValues leaves them). */
  flagToDb(b: boolean): boolean | number;
  date(v: StoredDate): Date;
  dateOrNull(v: StoredDate | null): Date | null;
  flag(v: boolean | number): boolean;
}

export function createSql(orm: Orm, dialect: DatabaseConfig["kind"]): Sql {
  const platform = orm.em.getPlatform();
  const date = (v: StoredDate): Date => (v instanceof Date ? v : platform.parseDate(v));
  return {
    dialect,
    db: () => orm.em.getKysely<Tables>(),
    entityDb: () =>
      orm.em.getKysely<EntityTables>({ processOnCreateHooks: true, processOnUpdateHooks: true, convertValues: true }),
    toDb: (d) => platform.processDateProperty(d),
    flagToDb: (b) => (dialect === "sqlite" ? Number(b) : b),
    date,
    dateOrNull: (v) => (v === null ? null : date(v)),
    flag: (v) => v === true || v === 1,
  };
}

/** A query compiled once, run with new values: the builder's cost is paid at start, not per call. */
export interface Prepared<K extends string, R> {
  /** Runs the SQL with `values` bound in place of the markers (on `db`: the root or a transaction). */
  run(db: Kysely<Tables>, values: { readonly [N in K]: unknown }): Promise<QueryResult<R>>;
}

/**
 * Builds a query once, with a marker for each named value, compiles it, and
 * remembers which bound parameter is which marker. The hot paths use this:
 * building and compiling a kysely query costs more CPU than running it on
 * SQLite. Values that are not markers (constants) stay as compiled. On
 * PostgreSQL the text also becomes a named prepared statement
 * (pg-named-statements.ts); on SQLite the driver's statement cache does that.
 */
export function prepare<K extends string, R>(
  names: readonly K[],
  build: (marker: { readonly [N in K]: string }) => { compile(): CompiledQuery<R> },
): Prepared<K, R> {
  // NUL never occurs in a real parameter (PostgreSQL refuses it in text), so no value can pose as a marker.
  const markers = Object.fromEntries(names.map((n) => [n, `\u0000${n}`])) as { readonly [N in K]: string };
  const compiled = build(markers);
  const query = compiled.compile();
  registerHotStatement(query.sql);
  const slots = query.parameters.map((p) => names.find((n) => markers[n] === p));
  for (const n of names) {
    if (!slots.includes(n)) throw new Error(`prepared query does not use the value "${n}"`);
  }
  return {
    run: (db, values) =>
      db.executeQuery<R>({
        ...query,
        parameters: slots.map((n, i) => (n === undefined ? query.parameters[i] : values[n])),
      }),
  };
}
