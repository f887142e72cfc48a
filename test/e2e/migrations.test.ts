import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createOrm, migrate } from "../../src/db/orm.js";
import { createTestDatabase, describeEachDatabase } from "../helpers/databases.js";

const ROOT = join(import.meta.dirname, "..", "..");

await describeEachDatabase(describe, "migrations", (kind) => {
  it("when the checked-in migrations run on an empty database, then the schema matches the entities exactly", async () => {
    const db = await createTestDatabase(kind);
    const orm = await createOrm(loadConfig({ DATABASE_URL: db.url }).database);
    try {
      await migrate(orm);
      const pending = await orm.schema.getUpdateSchemaSQL({ wrap: false });
      expect(pending.trim()).toBe("");
      const executed = await orm.migrator.getExecuted();
      expect(executed.length).toBeGreaterThan(0);
      await migrate(orm); // idempotent
      expect((await orm.migrator.getExecuted()).length).toBe(executed.length);
    } finally {
      await orm.close(true);
      await db.drop();
    }
  });

  it("when `src/migrate.ts` (npm run migrate) runs, then it applies them and exits 0", async () => {
    const db = await createTestDatabase(kind);
    try {
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn(join(ROOT, "node_modules", ".bin", "tsx"), ["src/migrate.ts"], {
          cwd: ROOT,
          env: { PATH: `${join(ROOT, "node_modules", ".bin")}:${process.env.PATH ?? ""}`, DATABASE_URL: db.url },
          stdio: "ignore",
        });
        child.once("exit", resolve);
      });
      expect(code).toBe(0);
      const orm = await createOrm(loadConfig({ DATABASE_URL: db.url }).database);
      try {
        expect(await orm.migrator.getPending()).toEqual([]);
        expect((await orm.migrator.getExecuted()).length).toBeGreaterThan(0);
      } finally {
        await orm.close(true);
      }
    } finally {
      await db.drop();
    }
  });
});
