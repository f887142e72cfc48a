import type { MigrationObject } from "@mikro-orm/core";
import { Migration20261124155818 as PgInitial } from "./postgresql/Migration20261124155818.js";
import { Migration20261130150428 as PgSecondFactor } from "./postgresql/Migration20261130150428.js";
import { Migration20261124155818 as SqliteInitial } from "./sqlite/Migration20261124155818.js";
import { Migration20261130150428 as SqliteSecondFactor } from "./sqlite/Migration20261130150428.js";

/**
 * Migrations are listed here rather than discovered from the file system, so
 * they work the same from TypeScript sources and compiled output. SQL is
 * dialect-specific, hence one list per dialect. Add new ones at the end.
 */
export const sqliteMigrations: MigrationObject[] = [
  { name: "Migration20261124155818", class: SqliteInitial },
  // TOTP factors, recovery codes, login challenges; sessions.amr.
  { name: "Migration20261130150428", class: SqliteSecondFactor },
];

export const postgresqlMigrations: MigrationObject[] = [
  { name: "Migration20261124155818", class: PgInitial },
  { name: "Migration20261130150428", class: PgSecondFactor },
];
