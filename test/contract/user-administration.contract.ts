import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import { later, newUser, type RepositoryFixture, tokenHash } from "./support.js";

/**
 * What AdminService and the admin command need of the User and Session
 * repositories (domain/admin-ports.ts): every implementation, on every
 * database, passes these.
 */
export function userAdministrationContract(fixture: () => RepositoryFixture): void {
  const openSession = async (userId: string, expiresInMs = 3_600_000) =>
    fixture().sessions.create({
      userId,
      expiresAt: later(expiresInMs),
      refreshTokenHash: tokenHash(),
      refreshExpiresAt: later(Math.max(1000, expiresInMs / 2)),
      clientAddress: "",
      userAgent: "",
    });

  it("when users are listed, then in (created_at, id) order, a page at a time after a cursor, by e-mail or username prefix", async () => {
    const { users } = fixture();
    const tag = `l${randomUUID().slice(0, 6)}`;
    const made = [];
    for (let i = 0; i < 5; i++) {
      made.push(await users.create({ email: `${tag}${i}@example.com`, username: `u${tag}${i}`, passwordHash: "x" }));
    }
    // Users made within one millisecond tie on created_at and sort by id: the
    // order is (created_at, id), not the order of creation.
    made.sort((a, b) => +a.createdAt - +b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const byEmail = await users.list({ limit: 10, after: null, prefix: tag });
    expect(byEmail.map((u) => u.id)).toEqual(made.map((u) => u.id));
    expect((await users.list({ limit: 10, after: null, prefix: `u${tag}` })).map((u) => u.id)).toEqual(
      made.map((u) => u.id),
    );
    const first = await users.list({ limit: 2, after: null, prefix: tag });
    const last = first[1];
    if (!last) throw new Error("no second user");
    const rest = await users.list({ limit: 10, after: { createdAt: last.createdAt, id: last.id }, prefix: tag });
    expect([...first, ...rest].map((u) => u.id)).toEqual(made.map((u) => u.id));
    // A prefix is literal: wildcards of LIKE match nothing here.
    expect(await users.list({ limit: 10, after: null, prefix: `${tag.slice(0, 2)}%` })).toEqual([]);
    expect(await users.list({ limit: 10, after: null, prefix: "_" })).toEqual([]);
  });

  it("when ten role changes race on one user, then none is lost (compare-and-set)", async () => {
    const { users } = fixture();
    const user = await users.create(newUser("r"));
    const at = later(0);
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        users.changeRoles(user.id, (current) => [...new Set([...current, `role${i}`])].sort(), at),
      ),
    );
    const roles = (await users.findById(user.id))?.roles ?? [];
    expect(roles).toEqual(Array.from({ length: 10 }, (_, i) => `role${i}`).sort());
  });

  it("when a user is deactivated, then the open sessions end in the same write and are counted; expired ones are left alone", async () => {
    const { users, sessions } = fixture();
    const user = await users.create(newUser("d"));
    const open = [await openSession(user.id), await openSession(user.id)];
    const expired = await openSession(user.id, -60_000);
    const at = later(1000);
    const done = await users.deactivate(user.id, at);
    expect(done?.user.isActive).toBe(false);
    expect(done?.revokedSessions).toBe(2);
    for (const s of open) expect((await sessions.findSessionWithUser(s.id))?.session.revokedAt).toEqual(at);
    expect((await sessions.findSessionWithUser(expired.id))?.session.revokedAt).toBeNull();
    expect(await users.deactivate(randomUUID(), at)).toBeNull();
    expect((await users.reactivate(user.id, at))?.isActive).toBe(true);
    expect(await users.reactivate(randomUUID(), at)).toBeNull();
  });

  it("when sessions are listed and revoked for a user, then only the open ones, newest first, and the count", async () => {
    const { users, sessions } = fixture();
    const user = await users.create(newUser("s"));
    const a = await openSession(user.id);
    const b = await openSession(user.id);
    await openSession(user.id, -60_000);
    const ended = await openSession(user.id);
    await sessions.revoke(ended.id, later(0));
    const now = new Date();
    const listed = await sessions.listOpenForUser(user.id, now);
    expect(listed.map((s) => s.id).sort()).toEqual([a.id, b.id].sort());
    expect(+(listed[0]?.createdAt ?? 0)).toBeGreaterThanOrEqual(+(listed[1]?.createdAt ?? 0));
    expect(await sessions.revokeOpenForUser(user.id, now)).toBe(2);
    expect(await sessions.listOpenForUser(user.id, now)).toEqual([]);
    expect(await sessions.revokeOpenForUser(user.id, now)).toBe(0);
  });

  it("when a user is deleted, then their sessions and refresh tokens go with them", async () => {
    const { users, sessions } = fixture();
    const user = await users.create(newUser("x"));
    const hash = tokenHash();
    const session = await sessions.create({
      userId: user.id,
      expiresAt: later(3_600_000),
      refreshTokenHash: hash,
      refreshExpiresAt: later(600_000),
      clientAddress: "",
      userAgent: "",
    });
    expect(await users.delete(user.id)).toBe(true);
    expect(await users.findById(user.id)).toBeNull();
    expect(await sessions.findSessionWithUser(session.id)).toBeNull();
    expect(await sessions.findRefreshToken(hash)).toBeNull();
    expect(await users.delete(user.id)).toBe(false);
  });
}
