import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { TokenService } from "../../gen/auth/v1/token_pb.js";
import { connectAdminApi } from "../helpers/admin-api.js";
import { authClient, connectTransport } from "../helpers/clients.js";
import { createTestDatabase, postgresAvailable, type TestDatabase } from "../helpers/databases.js";
import { connectFailure } from "../helpers/errors.js";
import { type ServerProcess, spawnServer, uniqueUser } from "../helpers/server.js";
import { openUserStore } from "../helpers/user-store.js";

/**
 * Two service processes (replicas) on one PostgreSQL database with the
 * same signing key, as a deployment runs them: what an admin does on one
 * is seen by the other's token checks on its very next call. No cache, no
 * message between them: each check reads session, user and roles.
 */

// Two Node processes start here; on a loaded machine each takes seconds.
vi.setConfig({ testTimeout: 120_000, hookTimeout: 120_000 });

const pgOk = await postgresAvailable();

describe.skipIf(!pgOk)("two replicas on one PostgreSQL database", () => {
  let db: TestDatabase;
  let dataDir: string;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    db = await createTestDatabase("postgresql");
    dataDir = await mkdtemp(join(tmpdir(), "warden-replicas-"));
    const { privateKey } = generateKeyPairSync("ed25519");
    const env = {
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      JWT_PRIVATE_KEY: privateKey.export({ format: "pem", type: "pkcs8" }).toString(),
    };
    // One after the other: the first applies the migrations.
    a = await spawnServer(env);
    b = await spawnServer(env);
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await db?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it("when one replica deactivates a user, then the other's IntrospectToken says inactive on the next call, and its other checks refuse too", async () => {
    const root = uniqueUser("root");
    const rootToken = (await authClient(connectTransport(a.baseUrl)).register(root)).tokens?.accessToken ?? "";
    const store = await openUserStore(db);
    await store.grantRole(root.email, "admin").finally(() => store.close());

    const u = uniqueUser();
    const authB = authClient(connectTransport(b.baseUrl));
    const reg = await authB.register(u);
    const token = reg.tokens?.accessToken ?? "";
    const introspectB = createClient(TokenService, connectTransport(b.baseUrl));
    // B has verified the token already (its verified-token cache is warm):
    // only the database can tell it what changed.
    expect((await introspectB.introspectToken({ token })).active).toBe(true);
    expect((await authB.getCurrentUser({}, { headers: { authorization: `Bearer ${token}` } })).user?.id).toBe(
      reg.user?.id,
    );

    const deactivated = await connectAdminApi(a.baseUrl).deactivateUser(rootToken, reg.user?.id ?? "");
    expect(deactivated.isActive).toBe(false);

    const after = await introspectB.introspectToken({ token });
    expect(after.active).toBe(false);
    expect(after.userId).toBe("");
    const current = await connectFailure(authB.getCurrentUser({}, { headers: { authorization: `Bearer ${token}` } }));
    expect(current.reason).toBe("USER_INACTIVE");
    const forward = await fetch(`${b.baseUrl}/forward-auth`, { headers: { authorization: `Bearer ${token}` } });
    expect(forward.status).toBe(403);
  });

  it("when one replica's admin changes roles, then the other's introspection shows them on the next call", async () => {
    const root = uniqueUser("root2");
    const rootToken = (await authClient(connectTransport(b.baseUrl)).register(root)).tokens?.accessToken ?? "";
    const store = await openUserStore(db);
    await store.grantRole(root.username, "admin").finally(() => store.close());
    const u = uniqueUser();
    const reg = await authClient(connectTransport(a.baseUrl)).register(u);
    const token = reg.tokens?.accessToken ?? "";
    const introspectA = createClient(TokenService, connectTransport(a.baseUrl));
    expect((await introspectA.introspectToken({ token })).roles).toEqual([]);
    await connectAdminApi(b.baseUrl).setUserRoles(rootToken, reg.user?.id ?? "", ["ops"]);
    expect((await introspectA.introspectToken({ token })).roles).toEqual(["ops"]);
  });
});
