import { randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type AdminApi, adminFailure, connectAdminApi, grpcAdminApi, restAdminApi } from "../helpers/admin-api.js";
import { type AuthClient, authClient, connectTransport } from "../helpers/clients.js";
import { describeEachDatabase } from "../helpers/databases.js";
import { connectFailure } from "../helpers/errors.js";
import { auditLines, startServer, type TestServer, uniqueUser } from "../helpers/server.js";
import { openUserStore, type UserStore } from "../helpers/user-store.js";

/**
 * auth.v1.AdminService over the network: every RPC over Connect, gRPC
 * (@grpc/grpc-js from the .proto files) and its REST route, on SQLite and
 * PostgreSQL. The first admin is made as an operator makes one (the admin
 * command's role change on its own connection), never over the network.
 */

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

await describeEachDatabase(describe, "AdminService over the network", (kind) => {
  let server: TestServer;
  let store: UserStore;
  let auth: AuthClient;
  let connect: AdminApi;
  /** The first admin: made by the operator's command while their token was already out. */
  let root: { id: string; token: string; sessionId: string };

  async function signUp(prefix = "u") {
    const u = uniqueUser(prefix);
    const res = await auth.register(u);
    const token = res.tokens?.accessToken ?? "";
    return {
      ...u,
      id: res.user?.id ?? "",
      token,
      refreshToken: res.tokens?.refreshToken ?? "",
      sessionId: String(decodeJwt(token).sid),
    };
  }

  beforeAll(async () => {
    server = await startServer({ db: kind });
    store = await openUserStore(server.db);
    auth = authClient(connectTransport(server.baseUrl));
    connect = connectAdminApi(server.baseUrl);
    const r = await signUp("root");
    await store.grantRole(r.email, "admin");
    root = r;
  });
  afterAll(async () => {
    await store?.close();
    await server?.close();
  });

  it("when the operator grants admin, then the user's token issued before works at once: the role is read from the database, not the token", async () => {
    expect(decodeJwt(root.token).roles).toEqual([]);
    expect((await connect.getUser(root.token, root.id)).roles).toEqual(["admin"]);
  });

  const protocols: Array<[AdminApi["protocol"], () => AdminApi]> = [
    ["connect", () => connectAdminApi(server.baseUrl)],
    ["grpc", () => grpcAdminApi(server.port)],
    ["rest", () => restAdminApi(server.baseUrl)],
  ];

  for (const [protocol, make] of protocols) {
    describe(`over ${protocol}`, () => {
      let api: AdminApi;
      beforeAll(() => {
        api = make();
      });
      afterAll(() => api?.close());

      it("when an admin runs every RPC on a user, then each does what the contract says", async () => {
        const u = await signUp(`t${protocol}`);
        const second = await auth.login({ emailOrUsername: u.username, password: u.password });
        const secondToken = second.tokens?.accessToken ?? "";

        // GetUser and ListUsers (page_size, query; the query in another case).
        expect(await api.getUser(root.token, u.id)).toEqual({
          id: u.id,
          email: u.email,
          username: u.username,
          isActive: true,
          roles: [],
        });
        const page = await api.listUsers(root.token, { pageSize: 5, query: u.username.toUpperCase() });
        expect(page.users.map((x) => x.id)).toEqual([u.id]);
        expect(page.nextPageToken).toBe("");

        // SetUserRoles: replaced, distinct and sorted; seen by GetUser at once.
        const withRoles = await api.setUserRoles(root.token, u.id, ["support", "billing.read", "support"]);
        expect(withRoles.roles).toEqual(["billing.read", "support"]);
        expect((await api.getUser(root.token, u.id)).roles).toEqual(["billing.read", "support"]);

        // ListUserSessions: newest first; `current` only for the asking token's own session.
        const sessions = await api.listUserSessions(root.token, u.id);
        expect(sessions.map((s) => s.id)).toEqual([String(decodeJwt(secondToken).sid), u.sessionId]);
        expect(sessions.every((s) => !s.current)).toBe(true);
        expect(+(sessions[0]?.createdAt ?? 0)).toBeGreaterThanOrEqual(+(sessions[1]?.createdAt ?? 0));
        const own = await api.listUserSessions(root.token, root.id);
        expect(own.find((s) => s.id === root.sessionId)?.current).toBe(true);

        // RevokeUserSessions: the count, and the tokens are dead at once.
        expect(await api.revokeUserSessions(root.token, u.id)).toBe(2);
        expect(await api.listUserSessions(root.token, u.id)).toEqual([]);
        expect((await connectFailure(auth.getCurrentUser({}, bearer(secondToken)))).reason).toBe("TOKEN_REVOKED");
        expect(await api.revokeUserSessions(root.token, u.id)).toBe(0);

        // DeactivateUser and ReactivateUser.
        const fresh = await auth.login({ emailOrUsername: u.email, password: u.password });
        expect((await api.deactivateUser(root.token, u.id)).isActive).toBe(false);
        expect((await connectFailure(auth.login({ emailOrUsername: u.email, password: u.password }))).reason).toBe(
          "USER_INACTIVE",
        );
        expect((await connectFailure(auth.getCurrentUser({}, bearer(fresh.tokens?.accessToken ?? "")))).reason).toBe(
          "USER_INACTIVE",
        );
        expect((await api.reactivateUser(root.token, u.id)).isActive).toBe(true);
        expect((await auth.login({ emailOrUsername: u.email, password: u.password })).user?.id).toBe(u.id);

        // ResetUserMfa: the user, unchanged (no second factor to turn off here).
        expect(await api.resetUserMfa(root.token, u.id)).toMatchObject({ id: u.id, isActive: true });

        // DeleteUser: gone, and so are their tokens.
        await api.deleteUser(root.token, u.id);
        expect((await adminFailure(api.getUser(root.token, u.id))).reason).toBe("NOT_FOUND");
        expect((await connectFailure(auth.refresh({ refreshToken: u.refreshToken }))).code).toBe(Code.Unauthenticated);

        // Every action was an audit line naming the admin and the target.
        for (const event of [
          "admin_get_user",
          "admin_set_user_roles",
          "admin_list_user_sessions",
          "admin_revoke_user_sessions",
          "admin_deactivate_user",
          "admin_reactivate_user",
          "admin_reset_user_mfa",
          "admin_delete_user",
        ]) {
          expect(auditLines(server, event), event).toContainEqual(
            expect.objectContaining({
              outcome: "success",
              actor: root.id,
              target_user_id: u.id,
              client_address: "127.0.0.1",
            }),
          );
        }
      });

      it("when a user without the admin role calls any RPC, then PERMISSION_DENIED/FORBIDDEN and nothing changes", async () => {
        const plain = await signUp(`p${protocol}`);
        const target = await signUp(`v${protocol}`);
        const calls = [
          () => api.listUsers(plain.token, {}),
          () => api.getUser(plain.token, target.id),
          () => api.deactivateUser(plain.token, target.id),
          () => api.reactivateUser(plain.token, target.id),
          () => api.setUserRoles(plain.token, plain.id, ["admin"]),
          () => api.listUserSessions(plain.token, target.id),
          () => api.revokeUserSessions(plain.token, target.id),
          () => api.resetUserMfa(plain.token, target.id),
          () => api.deleteUser(plain.token, target.id),
        ];
        for (const call of calls) {
          const f = await adminFailure(call());
          expect(f.reason).toBe("FORBIDDEN");
          expect(f.status).toBe(api.statusOf(Code.PermissionDenied));
        }
        expect(await api.getUser(root.token, target.id)).toMatchObject({ isActive: true, roles: [] });
        expect((await api.getUser(root.token, plain.id)).roles).toEqual([]);
        expect(await api.listUserSessions(root.token, target.id)).toHaveLength(1);
        expect(auditLines(server, "admin_denied")).toContainEqual(
          expect.objectContaining({ reason: "FORBIDDEN", actor: plain.id }),
        );
      });

      it("when no token or a bad one is sent, then UNAUTHENTICATED/INVALID_TOKEN, before any role check", async () => {
        for (const token of [null, "not-a-jwt"]) {
          const f = await adminFailure(api.listUsers(token, {}));
          expect(f.reason).toBe("INVALID_TOKEN");
          expect(f.status).toBe(api.statusOf(Code.Unauthenticated));
        }
      });

      it("when a user id is unknown or not a UUID, then NOT_FOUND from every RPC that names one", async () => {
        for (const id of [randomUUID(), "not-a-uuid"]) {
          const calls = [
            () => api.getUser(root.token, id),
            () => api.deactivateUser(root.token, id),
            () => api.reactivateUser(root.token, id),
            () => api.setUserRoles(root.token, id, ["x"]),
            () => api.listUserSessions(root.token, id),
            () => api.revokeUserSessions(root.token, id),
            () => api.resetUserMfa(root.token, id),
            () => api.deleteUser(root.token, id),
          ];
          for (const call of calls) {
            const f = await adminFailure(call());
            expect(f.reason).toBe("NOT_FOUND");
            expect(f.status).toBe(api.statusOf(Code.NotFound));
          }
        }
      });
    });
  }

  describe("the admin role, read fresh", () => {
    it("when an admin's role was removed a second ago, then they are refused though their token still carries it", async () => {
      const a = await signUp("adm");
      await store.grantRole(a.email, "admin");
      // A token issued after the grant: its roles claim says admin.
      const login = await auth.login({ emailOrUsername: a.username, password: a.password });
      const token = login.tokens?.accessToken ?? "";
      expect(decodeJwt(token).roles).toEqual(["admin"]);
      expect((await connect.listUsers(token, { pageSize: 1 })).users).toHaveLength(1);

      await connect.setUserRoles(root.token, a.id, []);
      const f = await adminFailure(connect.listUsers(token, { pageSize: 1 }));
      expect(f.reason).toBe("FORBIDDEN");
      expect(decodeJwt(token).roles).toEqual(["admin"]);

      // The same when the operator's command takes it away.
      await store.grantRole(a.email, "admin");
      expect((await connect.getUser(token, a.id)).roles).toEqual(["admin"]);
      await store.revokeRole(a.username, "admin");
      expect((await adminFailure(connect.getUser(token, a.id))).reason).toBe("FORBIDDEN");
    });

    it("when an admin would remove their own admin role, deactivate or delete themself, then FAILED_PRECONDITION and nothing changes", async () => {
      const a = await signUp("self");
      await store.grantRole(a.email, "admin");
      for (const call of [
        () => connect.setUserRoles(a.token, a.id, ["ops"]),
        () => connect.deactivateUser(a.token, a.id),
        () => connect.deleteUser(a.token, a.id),
      ]) {
        const f = await adminFailure(call());
        expect(f.reason).toBe("FAILED_PRECONDITION");
        expect(f.status).toBe(Code.FailedPrecondition);
      }
      expect(await connect.getUser(a.token, a.id)).toMatchObject({ isActive: true, roles: ["admin"] });
      expect((await connect.setUserRoles(a.token, a.id, ["ops", "admin"])).roles).toEqual(["admin", "ops"]);
    });

    it("when role names break the rules, then VALIDATION_ERROR naming each bad entry, over REST as 400", async () => {
      const u = await signUp("rn");
      const rest = restAdminApi(server.baseUrl);
      const f = await adminFailure(rest.setUserRoles(root.token, u.id, ["ok", "Admin", "", "a b"]));
      expect(f).toMatchObject({ reason: "VALIDATION_ERROR", status: 400 });
      expect(f.fields).toEqual(["roles[1]", "roles[2]", "roles[3]"]);
      expect((await rest.getUser(root.token, u.id)).roles).toEqual([]);
    });
  });

  describe("ListUsers paging", () => {
    /** Follows next_page_token to the end; returns the ids in the order seen. */
    async function listAll(api: AdminApi, query: string, pageSize: number): Promise<string[]> {
      const ids: string[] = [];
      let pageToken = "";
      for (let pages = 0; pages < 500; pages++) {
        const page = await api.listUsers(root.token, { pageSize, pageToken, query });
        expect(page.users.length).toBeLessThanOrEqual(pageSize);
        ids.push(...page.users.map((u) => u.id));
        pageToken = page.nextPageToken;
        if (pageToken === "") return ids;
      }
      throw new Error("paging did not end");
    }

    it("when users are registered while an admin pages through, then every user is listed exactly once", async () => {
      const tag = `pg${randomUUID().slice(0, 6)}`;
      const before: string[] = [];
      for (let i = 0; i < 40; i++) {
        const u = { ...uniqueUser(), username: `${tag}_${i}`, email: `${tag}.${i}@example.com` };
        before.push((await auth.register(u)).user?.id ?? "");
      }
      const added: string[] = [];
      let paging = true;
      // Registrations over the network run beside the paging, interleaved with its calls, until it ends.
      const registering = (async () => {
        for (let i = 0; paging && i < 200; i++) {
          const u = { ...uniqueUser(), username: `${tag}_n${i}`, email: `${tag}.n${i}@example.com` };
          added.push((await auth.register(u)).user?.id ?? "");
        }
      })();
      const seen = await listAll(connect, tag, 3).finally(() => {
        paging = false;
      });
      await registering;
      expect(added.length).toBeGreaterThan(0);
      expect(new Set(seen).size).toBe(seen.length);
      for (const id of before) expect(seen).toContain(id);
      for (const id of seen) expect([...before, ...added]).toContain(id);
      // Once the registrations stopped, a new listing holds every one of them, once.
      const after = await listAll(connect, tag, 7);
      expect(after.length).toBe(before.length + added.length);
      expect(new Set(after)).toEqual(new Set([...before, ...added]));
    });

    it("when REST is asked with query parameters, then page_size 0 means 50, over 200 means 200, and page_token continues", async () => {
      const tag = `ps${randomUUID().slice(0, 6)}`;
      for (let i = 0; i < 205; i++) {
        const name = `${tag}${String(i).padStart(3, "0")}`;
        await store.users.create({ email: `${name}@example.com`, username: name, passwordHash: "x" });
      }
      const rest = restAdminApi(server.baseUrl);
      expect((await rest.listUsers(root.token, { pageSize: 0, query: tag })).users).toHaveLength(50);
      const big = await rest.listUsers(root.token, { pageSize: 1000, query: tag.toUpperCase() });
      expect(big.users).toHaveLength(200);
      const rest2 = await rest.listUsers(root.token, { pageSize: 1000, pageToken: big.nextPageToken, query: tag });
      expect(rest2.users).toHaveLength(5);
      expect(rest2.nextPageToken).toBe("");
      expect(new Set([...big.users, ...rest2.users].map((u) => u.id)).size).toBe(205);
    });

    it("when a page token is altered or used with another query, then VALIDATION_ERROR on page_token (400 over REST)", async () => {
      const rest = restAdminApi(server.baseUrl);
      const first = await rest.listUsers(root.token, { pageSize: 1, query: "" });
      expect(first.nextPageToken).not.toBe("");
      const t = first.nextPageToken;
      const altered = t.slice(0, 5) + (t[5] === "A" ? "B" : "A") + t.slice(6);
      for (const [pageToken, query] of [
        [altered, ""],
        [t, "someone-else"],
        ["not-a-token", ""],
      ] as const) {
        const f = await adminFailure(rest.listUsers(root.token, { pageSize: 1, pageToken, query }));
        expect(f).toMatchObject({ reason: "VALIDATION_ERROR", status: 400 });
        expect(f.fields).toEqual(["page_token"]);
      }
      const f = await adminFailure(connect.listUsers(root.token, { pageSize: -1 }));
      expect(f.reason).toBe("VALIDATION_ERROR");
    });
  });
});
