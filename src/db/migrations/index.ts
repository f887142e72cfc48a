import type { MigrationObject } from "@mikro-orm/core";
import { Migration20261124155818 as PgInitial } from "./postgresql/Migration20261124155818.js";
import { Migration20261130150232 as PgUserRoles } from "./postgresql/Migration20261130150232.js";
import { Migration20261130150428 as PgSecondFactor } from "./postgresql/Migration20261130150428.js";
import { Migration20261130152330 as PgAccountLifecycle } from "./postgresql/Migration20261130152330.js";
import { Migration20261130153628 as PgPurgeIndexes } from "./postgresql/Migration20261130153628.js";
import { Migration20261124155818 as SqliteInitial } from "./sqlite/Migration20261124155818.js";
import { Migration20261130150232 as SqliteUserRoles } from "./sqlite/Migration20261130150232.js";
import { Migration20261130150428 as SqliteSecondFactor } from "./sqlite/Migration20261130150428.js";
import { Migration20261130152330 as SqliteAccountLifecycle } from "./sqlite/Migration20261130152330.js";
import { Migration20261130153628 as SqlitePurgeIndexes } from "./sqlite/Migration20261130153628.js";

/**
 * Migrations are listed here rather than discovered from the file system, so
 * they work the same from TypeScript sources and compiled output. SQL is
 * dialect-specific, hence one list per dialect. Add new ones at the end.
 */
export const sqliteMigrations: MigrationObject[] = [
  { name: "Migration20261124155818", class: SqliteInitial },
  // users.roles and the (created_at, id) index AdminService.ListUsers pages by.
  { name: "Migration20261130150232", class: SqliteUserRoles },
  // TOTP factors, recovery codes, login challenges; sessions.amr.
  { name: "Migration20261130150428", class: SqliteSecondFactor },
  // Account lifecycle: e-mail verification, session details, one-time tokens, mail outbox.
  { name: "Migration20261130152330", class: SqliteAccountLifecycle },
  // Indexes for the session purge and the sealed-successor clearing.
  { name: "Migration20261130153628", class: SqlitePurgeIndexes },
];

export const postgresqlMigrations: MigrationObject[] = [
  { name: "Migration20261124155818", class: PgInitial },
  { name: "Migration20261130150232", class: PgUserRoles },
  { name: "Migration20261130150428", class: PgSecondFactor },
  { name: "Migration20261130152330", class: PgAccountLifecycle },
  // Indexes for the session purge and the sealed-successor clearing.
  { name: "Migration20261130153628", class: PgPurgeIndexes },
];
