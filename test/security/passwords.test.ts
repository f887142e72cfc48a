import { describe, expect, it } from "vitest";
import { authClient, connectTransport } from "../helpers/clients.js";
import { createTestDatabase, postgresAvailable, queryDatabase } from "../helpers/databases.js";
import { startServer, type TestServer, uniqueUser } from "../helpers/server.js";

const pgOk = await postgresAvailable();

describe("rehash on login when BCRYPT_ROUNDS changes", () => {
  for (const kind of ["sqlite", "postgresql"] as const) {
    it.skipIf(kind === "postgresql" && !pgOk)(
      `[${kind}] when the service restarts with another cost, then the next login upgrades the stored hash`,
      async () => {
        const db = await createTestDatabase(kind);
        const u = uniqueUser();
        const costOf = async (server: TestServer) => {
          const rows = await queryDatabase<{ password_hash: string }>(
            server.db,
            "select password_hash from users where email = ?",
            [u.email],
          );
          const hash = rows[0]?.password_hash ?? "";
          return { hash, cost: Number(/^\$2[aby]\$(\d\d)\$/.exec(hash)?.[1]) };
        };
        const first = await startServer({ db, keepDb: true, env: { BCRYPT_ROUNDS: "4" } });
        try {
          await authClient(connectTransport(first.baseUrl)).register(u);
          expect((await costOf(first)).cost).toBe(4);
        } finally {
          await first.close();
        }
        const second = await startServer({ db, keepDb: true, env: { BCRYPT_ROUNDS: "5" } });
        try {
          const c = authClient(connectTransport(second.baseUrl));
          const before = await costOf(second);
          await expect(c.login({ emailOrUsername: u.email, password: "not-the-password" })).rejects.toThrow();
          expect((await costOf(second)).hash).toBe(before.hash); // a failed login changes nothing
          await c.login({ emailOrUsername: u.email, password: u.password });
          const after = await costOf(second);
          expect(after.cost).toBe(5);
          expect(after.hash).not.toBe(before.hash);
          expect((await c.login({ emailOrUsername: u.username, password: u.password })).user?.email).toBe(u.email);
        } finally {
          await second.close();
          await db.drop();
        }
      },
    );
  }
});
