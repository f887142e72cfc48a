import { generateKeyPairSync, randomUUID } from "node:crypto";
import { Code } from "@connectrpc/connect";
import { decodeJwt, decodeProtectedHeader, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AdminCredentials, AdminService } from "../../src/domain/admin-service.js";
import { createPageTokens } from "../../src/domain/page-tokens.js";
import type { TokenChecks } from "../../src/domain/token-checks.js";
import { type AuthClient, authClient, connectTransport } from "../helpers/clients.js";
import { describeEachDatabase, queryDatabase } from "../helpers/databases.js";
import { connectFailure } from "../helpers/errors.js";
import { auditLines, startServer, type TestServer, testClock, uniqueUser } from "../helpers/server.js";
import { openUserStore, type UserStore } from "../helpers/user-store.js";

/**
 * The admin and token-check core (src/domain/admin-service.ts,
 * token-checks.ts) as the running service built it (`services.admin`,
 * `services.tokenChecks`), on a real database: users sign in over the
 * network, and GetCurrentUser over the network must agree with the token
 * checks. The RPCs over these are tested in test/e2e/admin-service.test.ts
 * and token-checks.test.ts; here are the domain's finer rules.
 */

interface Core {
  readonly admin: AdminService;
  readonly checks: TokenChecks;
}

const coreOf = (server: TestServer): Core => ({
  admin: server.app.services.admin,
  checks: server.app.services.tokenChecks,
});

/** An admin call's credentials as the handlers build them from a request. */
const asWho = (accessToken: string | null): AdminCredentials => ({
  accessToken,
  clientAddress: "127.0.0.1",
  userAgent: "admin-core test",
});

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

/** Awaits a domain call that must fail and returns its reason. */
async function reasonOf(call: Promise<unknown>): Promise<string> {
  const error = await call.then(
    () => {
      throw new Error("expected the call to fail, but it succeeded");
    },
    (e: unknown) => e,
  );
  if (typeof error === "object" && error !== null && "reason" in error && typeof error.reason === "string") {
    return error.reason;
  }
  throw error;
}

await describeEachDatabase(describe, "admin core", (kind) => {
  let server: TestServer;
  let client: AuthClient;
  let core: Core;
  const clock = testClock();
  /** The first admin, made the way an operator makes one (the role-change domain of `npm run admin`). */
  let root: { id: string; token: string; who: AdminCredentials };

  /** Registers a user over the network; returns its id and tokens. */
  async function signUp(prefix = "u", over: Partial<ReturnType<typeof uniqueUser>> = {}) {
    const u = { ...uniqueUser(prefix), ...over };
    const res = await client.register(u);
    return {
      ...u,
      id: res.user?.id ?? "",
      token: res.tokens?.accessToken ?? "",
      refreshToken: res.tokens?.refreshToken ?? "",
    };
  }

  /** The database as the admin command sees it: its own connection, the operator's role changes. */
  let store: UserStore;

  /** A user with the admin role and a token issued after it was granted. */
  async function newAdmin() {
    const u = await signUp("adm");
    await store.grantRole(u.email, "admin");
    const login = await client.login({ emailOrUsername: u.username, password: u.password });
    const token = login.tokens?.accessToken ?? "";
    return { ...u, token, who: asWho(token) };
  }

  beforeAll(async () => {
    server = await startServer({ db: kind, clock });
    store = await openUserStore(server.db);
    client = authClient(connectTransport(server.baseUrl));
    core = coreOf(server);
    root = await newAdmin();
  });
  afterAll(async () => {
    await store?.close();
    await server?.close();
  });

  describe("who may act", () => {
    it("when a user without the admin role calls, then FORBIDDEN, and the refusal is audited", async () => {
      const u = await signUp();
      expect(await reasonOf(core.admin.getUser(asWho(u.token), root.id))).toBe("FORBIDDEN");
      expect(auditLines(server)).toContainEqual(
        expect.objectContaining({ event: "admin_denied", outcome: "failure", reason: "FORBIDDEN", actor: u.id }),
      );
    });

    it("when no token or a bad token comes, then INVALID_TOKEN, not FORBIDDEN", async () => {
      expect(await reasonOf(core.admin.getUser(asWho(null), root.id))).toBe("INVALID_TOKEN");
      expect(await reasonOf(core.admin.getUser(asWho("not-a-jwt"), root.id))).toBe("INVALID_TOKEN");
    });

    it("when the admin role was removed a second ago, then the admin is refused although the token still carries it", async () => {
      const a = await newAdmin();
      expect(decodeJwt(a.token).roles).toEqual(["admin"]);
      expect((await core.admin.getUser(asWho(a.token), root.id)).id).toBe(root.id);
      await core.admin.setUserRoles(root.who, a.id, []);
      expect(await reasonOf(core.admin.getUser(asWho(a.token), root.id))).toBe("FORBIDDEN");
      expect(decodeJwt(a.token).roles).toEqual(["admin"]);
    });

    it("when an admin was deactivated, then their token is refused as GetCurrentUser refuses it (USER_INACTIVE)", async () => {
      const a = await newAdmin();
      await core.admin.deactivateUser(root.who, a.id);
      expect(await reasonOf(core.admin.getUser(asWho(a.token), root.id))).toBe("USER_INACTIVE");
    });
  });

  describe("access-token claims", () => {
    it("when roles change, then the next refresh's token carries them, with amr pwd", async () => {
      const u = await signUp();
      expect(decodeJwt(u.token)).toMatchObject({ roles: [], amr: ["pwd"] });
      await core.admin.setUserRoles(root.who, u.id, ["support", "billing.read"]);
      expect(decodeJwt(u.token).roles).toEqual([]);
      const refreshed = await client.refresh({ refreshToken: u.refreshToken });
      expect(decodeJwt(refreshed.tokens?.accessToken ?? "")).toMatchObject({
        roles: ["billing.read", "support"],
        amr: ["pwd"],
      });
      expect((await core.checks.introspect(u.token)).active).toBe(true);
    });
  });

  describe("deactivation", () => {
    it("when an admin deactivates a user, then every session ends and GetCurrentUser, introspect and authorize see it at once", async () => {
      const u = await signUp();
      const second = await client.login({ emailOrUsername: u.email, password: u.password });
      const tokens = [u.token, second.tokens?.accessToken ?? ""];
      for (const t of tokens) expect((await core.checks.introspect(t)).active).toBe(true);
      expect(await core.admin.listUserSessions(root.who, u.id)).toHaveLength(2);

      const user = await core.admin.deactivateUser(root.who, u.id);
      expect(user.isActive).toBe(false);

      for (const t of tokens) {
        expect(await core.checks.introspect(t)).toEqual({ active: false });
        expect(await core.checks.authorize(t)).toEqual({ allowed: false, kind: "inactive_user" });
        const failure = await connectFailure(client.getCurrentUser({}, bearer(t)));
        expect(failure.reason).toBe("USER_INACTIVE");
      }
      expect(await core.admin.listUserSessions(root.who, u.id)).toEqual([]);
      const refresh = await connectFailure(client.refresh({ refreshToken: u.refreshToken }));
      expect(refresh.reason).toBe("USER_INACTIVE");
      expect(auditLines(server)).toContainEqual(
        expect.objectContaining({
          event: "admin_deactivate_user",
          outcome: "success",
          actor: root.id,
          target_user_id: u.id,
          count: 2,
        }),
      );
    });

    it("when revoking the sessions fails, then the user stays active too: both writes are one transaction", async () => {
      const u = await signUp();
      // A trigger that refuses any change to this user's sessions makes the
      // second statement of the deactivation fail after the first succeeded.
      const run = (statement: string) => queryDatabase(server.db, statement);
      const fn = `refuse_${u.id.replaceAll("-", "")}`;
      if (kind === "postgresql") {
        await run(
          `create function ${fn}() returns trigger language plpgsql as $$ begin raise exception 'refused'; end $$`,
        );
        await run(
          `create trigger refuse_revoke before update on sessions for each row when (old.user_id = '${u.id}') execute function ${fn}()`,
        );
      } else {
        await run(
          `create trigger refuse_revoke before update on sessions when old.user_id = '${u.id}' begin select raise(abort, 'refused'); end`,
        );
      }
      try {
        await expect(core.admin.deactivateUser(root.who, u.id)).rejects.toThrow();
        expect((await core.admin.getUser(root.who, u.id)).isActive).toBe(true);
        expect((await core.checks.introspect(u.token)).active).toBe(true);
      } finally {
        await run(kind === "postgresql" ? "drop trigger refuse_revoke on sessions" : "drop trigger refuse_revoke");
      }
    });

    it("when a deactivated user is reactivated, then they can sign in again but the ended sessions stay ended", async () => {
      const u = await signUp();
      await core.admin.deactivateUser(root.who, u.id);
      const user = await core.admin.reactivateUser(root.who, u.id);
      expect(user.isActive).toBe(true);
      expect(await core.checks.introspect(u.token)).toEqual({ active: false });
      const login = await client.login({ emailOrUsername: u.username, password: u.password });
      expect((await core.checks.introspect(login.tokens?.accessToken ?? "")).active).toBe(true);
    });

    it("when an admin tries to deactivate or delete themself, then FAILED_PRECONDITION and nothing changes", async () => {
      expect(await reasonOf(core.admin.deactivateUser(root.who, root.id))).toBe("FAILED_PRECONDITION");
      expect(await reasonOf(core.admin.deleteUser(root.who, root.id))).toBe("FAILED_PRECONDITION");
      expect((await core.admin.getUser(root.who, root.id)).isActive).toBe(true);
    });
  });

  describe("roles", () => {
    it("when an admin would remove admin from themself, then FAILED_PRECONDITION; keeping it while adding others is fine", async () => {
      const a = await newAdmin();
      expect(await reasonOf(core.admin.setUserRoles(a.who, a.id, []))).toBe("FAILED_PRECONDITION");
      expect(await reasonOf(core.admin.setUserRoles(a.who, a.id, ["ops"]))).toBe("FAILED_PRECONDITION");
      expect((await core.admin.getUser(a.who, a.id)).roles).toEqual(["admin"]);
      const user = await core.admin.setUserRoles(a.who, a.id, ["ops", "admin", "ops"]);
      expect(user.roles).toEqual(["admin", "ops"]);
      // Another admin may demote them.
      expect((await core.admin.setUserRoles(root.who, a.id, [])).roles).toEqual([]);
    });

    it("when role names break the rules, then VALIDATION_ERROR naming each bad entry, and nothing changes", async () => {
      const u = await signUp();
      await core.admin.setUserRoles(root.who, u.id, ["keep"]);
      const error = await core.admin
        .setUserRoles(root.who, u.id, ["ok", "Admin", "", "9lives", "a b", "x".repeat(65), "a%"])
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ reason: "VALIDATION_ERROR" });
      const fields = (error as { violations: Array<{ field: string }> }).violations.map((v) => v.field);
      expect(fields).toEqual(["roles[1]", "roles[2]", "roles[3]", "roles[4]", "roles[5]", "roles[6]"]);
      expect((await core.admin.getUser(root.who, u.id)).roles).toEqual(["keep"]);
      const tooMany = Array.from({ length: 33 }, (_, i) => `r${i}`);
      expect(await reasonOf(core.admin.setUserRoles(root.who, u.id, tooMany))).toBe("VALIDATION_ERROR");
    });

    it("when roles are set, then the token checks read them fresh while the token keeps its own", async () => {
      const u = await signUp();
      await core.admin.setUserRoles(root.who, u.id, ["reader"]);
      const seen = await core.checks.introspect(u.token);
      expect(seen).toMatchObject({ active: true, roles: ["reader"], amr: ["pwd"] });
      expect(await core.checks.authorize(u.token)).toEqual({
        allowed: true,
        userId: u.id,
        sessionId: decodeJwt(u.token).sid,
        roles: ["reader"],
      });
      const log = server.logs.find((l) => l.event === "admin_set_user_roles" && l.target_user_id === u.id);
      expect(log).toMatchObject({ message: "audit", actor: root.id, outcome: "success", roles: ["reader"] });
    });
  });

  describe("unknown users", () => {
    it("when a user id is unknown or not a UUID, then NOT_FOUND from every action, audited with admin and target", async () => {
      for (const id of [randomUUID(), "not-a-uuid", "", "'; drop table users; --"]) {
        const calls = [
          () => core.admin.getUser(root.who, id),
          () => core.admin.deactivateUser(root.who, id),
          () => core.admin.reactivateUser(root.who, id),
          () => core.admin.setUserRoles(root.who, id, ["x"]),
          () => core.admin.listUserSessions(root.who, id),
          () => core.admin.revokeUserSessions(root.who, id),
          () => core.admin.deleteUser(root.who, id),
        ];
        for (const call of calls) expect(await reasonOf(call())).toBe("NOT_FOUND");
      }
      const unknown = randomUUID();
      await reasonOf(core.admin.getUser(root.who, unknown));
      expect(auditLines(server)).toContainEqual(
        expect.objectContaining({
          event: "admin_get_user",
          outcome: "failure",
          reason: "NOT_FOUND",
          actor: root.id,
          target_user_id: unknown,
        }),
      );
    });
  });

  describe("sessions and deletion", () => {
    it("when an admin revokes a user's sessions, then the count comes back and the tokens are inactive at once", async () => {
      const u = await signUp();
      await client.login({ emailOrUsername: u.username, password: u.password });
      const sessions = await core.admin.listUserSessions(root.who, u.id);
      expect(sessions).toHaveLength(2);
      expect(+(sessions[0]?.createdAt ?? 0)).toBeGreaterThanOrEqual(+(sessions[1]?.createdAt ?? 0));
      expect(await core.admin.revokeUserSessions(root.who, u.id)).toBe(2);
      expect(await core.checks.introspect(u.token)).toEqual({ active: false });
      expect(await core.checks.authorize(u.token)).toEqual({ allowed: false, kind: "invalid_token" });
      expect((await connectFailure(client.getCurrentUser({}, bearer(u.token)))).reason).toBe("TOKEN_REVOKED");
      expect(await core.admin.revokeUserSessions(root.who, u.id)).toBe(0);
      expect((await core.admin.getUser(root.who, u.id)).isActive).toBe(true);
    });

    it("when an admin deletes a user, then the user and their sessions are gone and their tokens stop working at once", async () => {
      const u = await signUp();
      await core.admin.deleteUser(root.who, u.id);
      expect(await reasonOf(core.admin.getUser(root.who, u.id))).toBe("NOT_FOUND");
      expect(await core.checks.introspect(u.token)).toEqual({ active: false });
      expect(await core.checks.authorize(u.token)).toEqual({ allowed: false, kind: "invalid_token" });
      expect((await connectFailure(client.getCurrentUser({}, bearer(u.token)))).code).toBe(Code.Unauthenticated);
      expect((await connectFailure(client.refresh({ refreshToken: u.refreshToken }))).reason).toBe("INVALID_TOKEN");
      const left = await queryDatabase<{ n: number | string }>(
        server.db,
        "select count(*) as n from sessions where user_id = ?",
        [u.id],
      );
      expect(Number(left[0]?.n)).toBe(0);
      expect(await reasonOf(core.admin.deleteUser(root.who, u.id))).toBe("NOT_FOUND");
    });
  });

  describe("introspection and authorization", () => {
    it("when a token is live, then introspect answers active with the user, roles, amr and times", async () => {
      const u = await signUp();
      const claims = decodeJwt(u.token);
      const seen = await core.checks.introspect(u.token);
      expect(seen).toMatchObject({
        active: true,
        userId: u.id,
        sessionId: claims.sid,
        roles: [],
        amr: ["pwd"],
        issuedAt: new Date((claims.iat ?? 0) * 1000),
        expiresAt: new Date((claims.exp ?? 0) * 1000),
        user: { id: u.id, email: u.email, username: u.username, isActive: true, roles: [] },
      });
    });

    it("when the token is malformed, badly signed, a refresh token, expired or logged out, then active false and nothing else", async () => {
      const u = await signUp();
      const claims = decodeJwt(u.token);
      const { privateKey } = generateKeyPairSync("ed25519");
      const forged = await new SignJWT({ sid: claims.sid, roles: ["admin"], amr: ["pwd"] })
        .setProtectedHeader({ alg: "EdDSA", typ: "at+jwt", kid: decodeProtectedHeader(u.token).kid })
        .setIssuer(String(claims.iss))
        .setAudience(String(claims.aud))
        .setSubject(u.id)
        .setIssuedAt()
        .setExpirationTime("10m")
        .setJti(randomUUID())
        .sign(privateKey);
      for (const token of ["garbage", `${u.token}x`, forged, u.refreshToken, "a".repeat(100_000)]) {
        expect(await core.checks.introspect(token)).toEqual({ active: false });
      }
      await client.logout({ refreshToken: u.refreshToken });
      expect(await core.checks.introspect(u.token)).toEqual({ active: false });

      const v = await signUp();
      const past = ((decodeJwt(v.token).exp ?? 0) + 1) * 1000 - Date.now();
      clock.advance(past);
      try {
        expect(await core.checks.introspect(v.token)).toEqual({ active: false });
        expect(await core.checks.authorize(v.token)).toEqual({ allowed: false, kind: "invalid_token" });
      } finally {
        clock.advance(-past);
      }
    });

    it("when introspection gets an empty token, then VALIDATION_ERROR (the request is malformed, not the token)", async () => {
      expect(await reasonOf(core.checks.introspect(""))).toBe("VALIDATION_ERROR");
      expect(await reasonOf(core.checks.introspect("   "))).toBe("VALIDATION_ERROR");
    });

    it("when no token, an empty or unusable one comes, then no_token or invalid_token; a live one is allowed", async () => {
      const u = await signUp();
      expect(await core.checks.authorize(null)).toEqual({ allowed: false, kind: "no_token" });
      for (const token of ["", "not-a-jwt", u.refreshToken, `${u.token}x`]) {
        expect(await core.checks.authorize(token)).toEqual({ allowed: false, kind: "invalid_token" });
      }
      expect(await core.checks.authorize(u.token)).toMatchObject({ allowed: true, userId: u.id, roles: [] });
    });
  });

  describe("ListUsers", () => {
    /** Every page of a listing, following next page tokens to the end. */
    async function listAll(query: string, pageSize: number) {
      const seen: Array<{ id: string; createdAt: Date }> = [];
      let pageToken = "";
      let pages = 0;
      do {
        const page = await core.admin.listUsers(root.who, { pageSize, pageToken, query });
        expect(page.users.length).toBeLessThanOrEqual(pageSize);
        seen.push(...page.users);
        pageToken = page.nextPageToken;
        pages++;
      } while (pageToken !== "" && pages < 1000);
      return seen;
    }

    /** Inserts users straight through the repository (no bcrypt): the listing is what is under test. */
    async function insertUsers(tag: string, n: number) {
      const ids: string[] = [];
      for (let i = 0; i < n; i++) {
        const name = `${tag}${String(i).padStart(4, "0")}${randomUUID().slice(0, 4)}`;
        ids.push((await store.users.create({ email: `${name}@example.com`, username: name, passwordHash: "x" })).id);
      }
      return ids;
    }

    it("when users are added while an admin pages through, then every user that existed is listed exactly once, in order", async () => {
      const tag = `pg${randomUUID().slice(0, 6)}`;
      const before = await insertUsers(tag, 60);
      const added: string[] = [];
      let paging = true;
      // Inserts run beside the paging, interleaved with its queries, until it ends.
      const inserter = (async () => {
        while (paging && added.length < 150) added.push(...(await insertUsers(tag, 1)));
      })();
      const seen = await listAll(tag, 7).finally(() => {
        paging = false;
      });
      await inserter;
      expect(added.length).toBeGreaterThan(0);
      const ids = seen.map((u) => u.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of before) expect(ids).toContain(id);
      // Users added meanwhile sort after every older one: each is listed once or, if added after the last page, never.
      for (const id of ids) expect([...before, ...added]).toContain(id);
      for (let i = 1; i < seen.length; i++) {
        const a = seen[i - 1];
        const b = seen[i];
        if (!a || !b) continue;
        expect(+a.createdAt < +b.createdAt || (+a.createdAt === +b.createdAt && a.id < b.id)).toBe(true);
      }
    });

    it("when page_size is 0 or over 200, then 50 or 200 users come back; a negative one is VALIDATION_ERROR", async () => {
      const tag = `ps${randomUUID().slice(0, 6)}`;
      await insertUsers(tag, 205);
      expect((await core.admin.listUsers(root.who, { pageSize: 0, pageToken: "", query: tag })).users).toHaveLength(50);
      const big = await core.admin.listUsers(root.who, { pageSize: 1000, pageToken: "", query: tag });
      expect(big.users).toHaveLength(200);
      const rest = await core.admin.listUsers(root.who, {
        pageSize: 1000,
        pageToken: big.nextPageToken,
        query: tag,
      });
      expect(rest.users).toHaveLength(5);
      expect(rest.nextPageToken).toBe("");
      expect(await reasonOf(core.admin.listUsers(root.who, { pageSize: -1, pageToken: "", query: "" }))).toBe(
        "VALIDATION_ERROR",
      );
    });

    it("when a page token is tampered with, forged or reused with another query, then VALIDATION_ERROR", async () => {
      const tag = `pt${randomUUID().slice(0, 6)}`;
      await insertUsers(tag, 5);
      const { nextPageToken } = await core.admin.listUsers(root.who, { pageSize: 2, pageToken: "", query: tag });
      expect(nextPageToken).not.toBe("");
      const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === "A" ? "B" : "A") + s.slice(i + 1);
      const bad = [
        flip(nextPageToken, 3),
        flip(nextPageToken, nextPageToken.length - 2),
        `${nextPageToken}A`,
        nextPageToken.slice(1),
        `${nextPageToken.slice(0, 10)}!${nextPageToken.slice(11)}`,
        "not-a-token",
        createPageTokens(new Uint8Array(32).fill(7)).seal({ createdAt: new Date(0), id: randomUUID() }, tag),
      ];
      for (const pageToken of bad) {
        expect(await reasonOf(core.admin.listUsers(root.who, { pageSize: 2, pageToken, query: tag }))).toBe(
          "VALIDATION_ERROR",
        );
      }
      const otherQuery = core.admin.listUsers(root.who, { pageSize: 2, pageToken: nextPageToken, query: "x" });
      expect(await reasonOf(otherQuery)).toBe("VALIDATION_ERROR");
      // The genuine one still works, also with the query in another case (queries are case-insensitive).
      const next = await core.admin.listUsers(root.who, {
        pageSize: 2,
        pageToken: nextPageToken,
        query: tag.toUpperCase(),
      });
      expect(next.users).toHaveLength(2);
    });

    it("when the query holds %, _ or \\, then they match literally, at the start of the e-mail or the username, in any case", async () => {
      const id = randomUUID().slice(0, 6);
      const pct = await signUp("p", { email: `p%${id}@example.com`, username: `pp${id}a` });
      const notPct = await signUp("p", { email: `pz${id}@example.com`, username: `pq${id}b` });
      const under = await signUp("q", { email: `q1${id}@example.com`, username: `q_${id}c` });
      const notUnder = await signUp("q", { email: `q2${id}@example.com`, username: `qx${id}d` });
      const slash = await signUp("s", { email: `s\\${id}@example.com`, username: `ss${id}e` });
      const ids = async (query: string) => (await listAll(query, 50)).map((u) => u.id).sort();

      expect(await ids(`p%${id}`)).toEqual([pct.id]);
      expect(await ids(`P%${id.toUpperCase()}`)).toEqual([pct.id]);
      expect(await ids(`q_${id}`)).toEqual([under.id]);
      expect(await ids(`Q_${id}C`)).toEqual([under.id]);
      expect(await ids(`s\\${id}`)).toEqual([slash.id]);
      expect(await ids(`pq${id}`)).toEqual([notPct.id]);
      expect(await ids(`qx${id}`)).toEqual([notUnder.id]);
      // The start only: the middle of a name does not match.
      expect(await ids(id)).toEqual([]);
      expect(await ids("%")).toEqual([]);
      expect(await ids("_")).toEqual([]);
    });

    it("when an admin lists users, then the listing is audited, naming the admin", async () => {
      await core.admin.listUsers(root.who, { pageSize: 1, pageToken: "", query: "" });
      expect(auditLines(server)).toContainEqual(
        expect.objectContaining({ event: "admin_list_users", outcome: "success", actor: root.id }),
      );
    });
  });
});
