import pg from "pg";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { createTestDatabase, PG_ADMIN_URL, postgresAvailable } from "../helpers/databases.js";
import { TEST_ENV } from "../helpers/server.js";

const pgOk = await postgresAvailable();

/** Connections open to the database at `url`, as the server sees them. */
async function connectionsTo(url: string): Promise<number> {
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ n: string }>(
      "select count(*) as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
      [new URL(url).pathname.slice(1)],
    );
    return Number(rows[0]?.n);
  } finally {
    await admin.end();
  }
}

describe.skipIf(!pgOk)("start-up that fails halfway", () => {
  it("when start-up fails after the database was opened and migrated, then it rejects and leaves no connection open", async () => {
    const db = await createTestDatabase("postgresql");
    try {
      // TRUSTED_PROXIES is checked when the HTTP front is built, well after the database opened.
      const config = loadConfig({ ...TEST_ENV, DATABASE_URL: db.url, TRUSTED_PROXIES: "proxy.local" });
      await expect(createApp(config)).rejects.toThrow(/TRUSTED_PROXIES/);
      expect(await connectionsTo(db.url)).toBe(0);
    } finally {
      await db.drop();
    }
  });
});
