import type { MigrationObject } from "@mikro-orm/core";
import { Migration20261124155818 as PgInitial } from "./postgresql/Migration20261124155818.js";
import { Migration20261130153628 as PgPurgeIndexes } from "./postgresql/Migration20261130153628.js";
import { Migration20261124155818 as SqliteInitial } from "./sqlite/Migration20261124155818.js";
import { Migration20261130153628 as SqlitePurgeIndexes } from "./sqlite/Migration20261130153628.js";

/**
 * Migrations are listed here rather than discovered from the file system, so
 * they work the same from TypeScript sources and compiled output. SQL is
 * dialect-specific, hence one list per dialect. Add new ones at the end.
 */
export const sqliteMigrations: MigrationObject[] = [
  { name: "Migration20261124155818", class: SqliteInitial },
  // Indexes for the session purge and the sealed-successor clearing.
  { name: "Migration20261130153628", class: SqlitePurgeIndexes },
];

export const postgresqlMigrations: MigrationObject[] = [
  { name: "Migration20261124155818", class: PgInitial },
  // Indexes for the session purge and the sealed-successor clearing.
  { name: "Migration20261130153628", class: PgPurgeIndexes },
];
