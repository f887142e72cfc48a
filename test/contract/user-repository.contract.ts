import { expect, it } from "vitest";
import { createDbGuard, guarded } from "../../src/db/resilience.js";
import type { DomainError } from "../../src/domain/errors.js";
import { newUser, type RepositoryFixture } from "./support.js";

const reasonOf = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e: unknown) => (e as DomainError).reason ?? String(e),
  );

/** The UserRepository contract: every implementation, on every database, passes these. */
export function userRepositoryContract(fixture: () => RepositoryFixture): void {
  it("when a user is created, then it comes back with an id, active, never logged in, and with the stored timestamps", async () => {
    const { users } = fixture();
    const before = Date.now() - 1000;
    const u = newUser();
    const user = await users.create(u);
    expect(user).toMatchObject({ email: u.email, username: u.username, isActive: true, lastLoginAt: null });
    expect(user.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(+user.createdAt).toBeGreaterThanOrEqual(before);
    expect(+user.updatedAt).toBeGreaterThanOrEqual(+user.createdAt);
    const found = await users.findByLogin(u.email);
    expect(found?.user).toEqual(user);
    expect(found?.passwordHash).toBe(u.passwordHash);
  });

  it("when the e-mail or the username (in any case) is taken, then create fails with USER_ALREADY_EXISTS", async () => {
    const { users } = fixture();
    const u = newUser();
    await users.create(u);
    expect(await reasonOf(users.create({ ...newUser(), email: u.email }))).toBe("USER_ALREADY_EXISTS");
    expect(await reasonOf(users.create({ ...newUser(), username: u.username.toUpperCase() }))).toBe(
      "USER_ALREADY_EXISTS",
    );
  });

  it("when ten creates race for one e-mail, then exactly one wins and the others get USER_ALREADY_EXISTS", async () => {
    const { users } = fixture();
    const email = newUser().email;
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () => reasonOf(users.create({ ...newUser(), email }))),
    );
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "USER_ALREADY_EXISTS")).toHaveLength(9);
  });

  it("when a user is looked up by e-mail or username in another case, then it is found; an unknown login finds nothing", async () => {
    const { users } = fixture();
    const u = { ...newUser(), username: `Mixed_${newUser().username}` };
    const user = await users.create(u);
    expect((await users.findByLogin(u.username.toUpperCase()))?.user.id).toBe(user.id);
    expect((await users.findByLogin(u.username.toLowerCase()))?.user.id).toBe(user.id);
    expect((await users.findByLogin(u.email.toUpperCase()))?.user.id).toBe(user.id);
    expect(await users.findByLogin(`nobody-${u.email}`)).toBeNull();
    expect(await users.findByLogin("nobody_at_all")).toBeNull();
  });

  it("when a login is recorded, then last_login_at is that instant and the user is returned updated", async () => {
    const { users } = fixture();
    const user = await users.create(newUser());
    // The entity's onUpdate hook stamps updated_at: let the clock move past the creation first.
    while (Date.now() <= +user.updatedAt) await new Promise((r) => setImmediate(r));
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 + 123);
    const updated = await users.recordLogin(user.id, at);
    expect(updated.lastLoginAt).toEqual(at);
    expect(updated.id).toBe(user.id);
    expect(+updated.updatedAt).toBeGreaterThan(+user.updatedAt);
    expect((await users.findByLogin(user.email))?.user.lastLoginAt).toEqual(at);
  });

  it("when the password hash is replaced or the account deactivated, then the next lookup shows it", async () => {
    const { users } = fixture();
    const user = await users.create(newUser());
    await users.updatePasswordHash(user.id, "$2b$12$new");
    await users.setActive(user.id, false);
    const found = await users.findByLogin(user.username);
    expect(found?.passwordHash).toBe("$2b$12$new");
    expect(found?.user.isActive).toBe(false);
    await users.setActive(user.id, true);
    expect((await users.findByLogin(user.username))?.user.isActive).toBe(true);
  });

  it("when logins and e-mails hold a NUL byte, then the database's refusal is a VALIDATION_ERROR (or simply no match) and the circuit breaker never moves", async () => {
    const { users, orm } = fixture();
    const guard = createDbGuard({ timeoutMs: 5000, breakerThreshold: 2, halfOpenAfterMs: 60_000 });
    const states: string[] = [];
    guard.onStateChange((s) => states.push(s));
    const repo = guarded(users, guard);
    const outcomes = new Set<string>();
    for (let i = 0; i < 10; i++) {
      outcomes.add(await reasonOf(repo.findByLogin("x\u0000@a.b").then((f) => (f === null ? "none" : "found"))));
      outcomes.add(await reasonOf(repo.findByLogin("x\u0000y")));
    }
    // PostgreSQL refuses NUL in text (SQLSTATE 22021); SQLite stores and compares it.
    for (const o of outcomes) expect(["ok", "VALIDATION_ERROR"]).toContain(o);
    // Inlined into the SQL text, as MikroORM's own queries do, NUL is a protocol violation (08P01) on
    // PostgreSQL (VALIDATION_ERROR) and cuts the statement short on SQLite (a syntax error): never an outage.
    for (let i = 0; i < 5; i++) {
      const o = await reasonOf(guard.run(() => orm.em.getConnection().execute("select 1 where 'x\u0000' = 'y'")));
      expect(o).toBe(fixture().kind === "postgresql" ? "VALIDATION_ERROR" : 'SqliteError: unrecognized token: "\'x"');
    }
    expect(guard.state).toBe("closed");
    expect(states).toEqual([]);
    const u = newUser();
    await repo.create(u);
    expect((await repo.findByLogin(u.email))?.user.email).toBe(u.email);
  });
}
