/**
 * Developer tool: writes a migration for each dialect from the difference
 * between the entities and the schema the existing migrations build.
 *   npm run migration:create            (needs PostgreSQL at TEST_DATABASE_URL)
 */

import { randomUUID } from "node:crypto";
import { Migrator } from "@mikro-orm/migrations";
import { MikroORM as PostgresORM } from "@mikro-orm/postgresql";
import { MikroORM as SqliteORM } from "@mikro-orm/sqlite";
import pg from "pg";
import { entities } from "./entities.js";
import { postgresqlMigrations, sqliteMigrations } from "./migrations/index.js";

const base = { entities, extensions: [Migrator], debug: false };
const migrationsFor = (dialect: string, list: typeof sqliteMigrations) => ({
  path: `src/db/migrations/${dialect}`,
  pathTs: `src/db/migrations/${dialect}`,
  emit: "ts" as const,
  snapshot: false,
  migrationsList: list,
});

const sqlite = await SqliteORM.init({
  ...base,
  dbName: ":memory:",
  migrations: migrationsFor("sqlite", sqliteMigrations),
});
await sqlite.migrator.up();
console.log("sqlite:", (await sqlite.migrator.create()).fileName || "no changes");
await sqlite.close();

const adminUrl = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const name = `warden_migrate_${randomUUID().replaceAll("-", "")}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`create database ${name}`);
try {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const pgOrm = await PostgresORM.init({
    ...base,
    clientUrl: url.toString(),
    migrations: migrationsFor("postgresql", postgresqlMigrations),
  });
  await pgOrm.migrator.up();
  console.log("postgresql:", (await pgOrm.migrator.create()).fileName || "no changes");
  await pgOrm.close();
} finally {
  await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
}
