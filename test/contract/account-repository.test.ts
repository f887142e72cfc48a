import { describe } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createOrm, migrate } from "../../src/db/orm.js";
import { createTestDatabase, describeEachDatabase } from "../helpers/databases.js";
import { accountRepositoryContract } from "./account-repository.contract.js";

/** The account and outbox repository contract on each database kind, each on a fresh database. */
await describeEachDatabase(describe, "account and outbox repositories", (kind) => {
  accountRepositoryContract(async () => {
    const db = await createTestDatabase(kind);
    const config = loadConfig({ DATABASE_URL: db.url }).database;
    const orm = await createOrm(config);
    await migrate(orm);
    return {
      kind,
      orm,
      openAnother: () => createOrm(config),
      async close() {
        await orm.close(true);
        await db.drop();
      },
    };
  });
});
