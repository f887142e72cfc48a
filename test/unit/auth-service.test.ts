import { randomBytes, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createAuthService } from "../../src/domain/auth-service.js";
import { DomainError, userAlreadyExists } from "../../src/domain/errors.js";
import type { AuthEvent } from "../../src/domain/events.js";
import type { AccessTokens, PasswordHasher, SessionRepository, UserRepository } from "../../src/domain/ports.js";
import { createSuccessorSeal } from "../../src/domain/refresh-tokens.js";
import type { RefreshTokenRecord, Session, User } from "../../src/domain/types.js";
import { createPasswordPolicy } from "../../src/passwords/password-policy.js";

/** In-memory fakes of the ports: the domain rules without a database or transport. */
function harness(opts: { reuseInterval?: number } = {}) {
  let now = new Date("2026-01-01T00:00:00Z");
  const users = new Map<string, User & { hash: string }>();
  const sessions = new Map<string, Session>();
  const tokens = new Map<
    string,
    { sessionId: string; createdAt: Date; expiresAt: Date; rotatedAt: Date | null; successor: string | null }
  >();
  const verified: string[] = [];
  const events: AuthEvent[] = [];

  const userRepo: UserRepository = {
    async create(u) {
      if ([...users.values()].some((x) => x.email === u.email || x.username.toLowerCase() === u.username.toLowerCase()))
        throw userAlreadyExists();
      const user = {
        id: randomUUID(),
        email: u.email,
        username: u.username,
        isActive: true,
        createdAt: now,
        updatedAt: now,
        lastLoginAt: null,
        roles: [],
        emailVerified: false,
        mfaEnabled: false,
        hash: u.passwordHash,
      };
      users.set(user.id, user);
      return user;
    },
    async findById(id) {
      return users.get(id) ?? null;
    },
    async findByLogin(login) {
      const u = [...users.values()].find((x) => x.email === login || x.username.toLowerCase() === login);
      return u ? { user: u, passwordHash: u.hash } : null;
    },
    async recordLogin(id, at) {
      const u = { ...(users.get(id) as User & { hash: string }), lastLoginAt: at };
      users.set(id, u);
      return u;
    },
    async updatePasswordHash(id, hash) {
      users.set(id, { ...(users.get(id) as User & { hash: string }), hash });
    },
    async setActive(id, isActive) {
      users.set(id, { ...(users.get(id) as User & { hash: string }), isActive });
    },
  };
  const sessionRepo: SessionRepository = {
    async create(s) {
      const session = {
        id: randomUUID(),
        userId: s.userId,
        createdAt: now,
        expiresAt: s.expiresAt,
        revokedAt: null,
        amr: s.amr ?? ["pwd"],
      };
      sessions.set(session.id, session);
      tokens.set(s.refreshTokenHash, {
        sessionId: session.id,
        createdAt: now,
        expiresAt: s.refreshExpiresAt,
        rotatedAt: null,
        successor: null,
      });
      return session;
    },
    async findRefreshToken(hash): Promise<RefreshTokenRecord | null> {
      const t = tokens.get(hash);
      const s = t && sessions.get(t.sessionId);
      if (!t || !s) return null;
      const user = users.get(s.userId);
      if (!user) return null;
      return {
        tokenHash: hash,
        sessionId: s.id,
        userId: s.userId,
        createdAt: t.createdAt,
        expiresAt: t.expiresAt,
        rotatedAt: t.rotatedAt,
        successor: t.successor,
        sessionExpiresAt: s.expiresAt,
        sessionRevokedAt: s.revokedAt,
        sessionAmr: s.amr,
        user,
      };
    },
    async rotate(r) {
      const t = tokens.get(r.oldTokenHash);
      if (!t || t.rotatedAt) return false;
      tokens.set(r.oldTokenHash, { ...t, rotatedAt: r.at, successor: r.successor });
      tokens.set(r.newTokenHash, {
        sessionId: t.sessionId,
        createdAt: r.at,
        expiresAt: r.newExpiresAt,
        rotatedAt: null,
        successor: null,
      });
      return true;
    },
    async findSessionWithUser(id) {
      const session = sessions.get(id);
      const user = session && users.get(session.userId);
      return session && user ? { session, user } : null;
    },
    async revoke(id, at) {
      const s = sessions.get(id);
      if (s && !s.revokedAt) sessions.set(id, { ...s, revokedAt: at });
    },
    async revokeAllForUser(userId, at) {
      for (const s of sessions.values())
        if (s.userId === userId && !s.revokedAt) sessions.set(s.id, { ...s, revokedAt: at });
    },
    async purge() {
      return { sealsCleared: 0, tokensDeleted: 0, sessionsDeleted: 0 };
    },
  };
  const passwords: PasswordHasher = {
    hash: async (p) => `hash:${p}`,
    verify: async (p, h) => {
      verified.push(h);
      return h === `hash:${p}`;
    },
    needsRehash: () => false,
  };
  const accessTokens: AccessTokens = {
    issue: async ({ userId, sessionId }) => ({
      token: `at:${userId}:${sessionId}:${randomUUID()}`,
      expiresAt: new Date(+now + 1800_000),
    }),
    verify: async (t) => {
      const [, userId, sessionId] = t.split(":");
      if (!userId || !sessionId) throw new DomainError("INVALID_TOKEN", "invalid");
      return { userId, sessionId, tokenId: "j", roles: [], amr: ["pwd"], issuedAt: now, expiresAt: now };
    },
  };
  const service = createAuthService({
    users: userRepo,
    sessions: sessionRepo,
    passwords,
    accessTokens,
    clock: { now: () => now },
    events: { emit: (e) => events.push(e) },
    dummyHash: "hash:dummy-never-matches",
    // The real policy without its strength estimate (a thread of its own): the length and name rules.
    passwordPolicy: createPasswordPolicy({ minLength: 12, minScore: 0 }),
    successorSeal: createSuccessorSeal(randomBytes(32)),
    policy: {
      refreshTtlSeconds: 3600,
      sessionMaxLifetimeSeconds: 7200,
      refreshReuseIntervalSeconds: opts.reuseInterval ?? 0,
      accessTtlSeconds: 1800,
    },
  });
  return { service, verified, events, advance: (ms: number) => (now = new Date(+now + ms)) };
}

const alice = { email: "alice@example.com", username: "alice", password: "a long enough password" };
/** The caller, as the transport passes it to every domain call. */
const meta = { clientAddress: "192.0.2.10", userAgent: "unit-test/1.0" };

describe("auth service (domain, with fakes)", () => {
  it("when the user is unknown, then the dummy hash is still verified once, so timing matches a wrong password", async () => {
    const h = harness();
    await h.service.register(alice, meta);
    h.verified.length = 0;
    await expect(
      h.service.login({ emailOrUsername: "nobody", password: "whatever whatever" }, meta),
    ).rejects.toMatchObject({
      reason: "INVALID_CREDENTIALS",
    });
    expect(h.verified).toEqual(["hash:dummy-never-matches"]);
    await expect(
      h.service.login({ emailOrUsername: "alice", password: "wrong wrong wrong" }, meta),
    ).rejects.toMatchObject({
      reason: "INVALID_CREDENTIALS",
    });
    expect(h.verified).toHaveLength(2);
  });

  it("when the session's absolute lifetime is reached, then refresh fails even though each rotation was in time", async () => {
    const h = harness();
    let token = (await h.service.register(alice, meta)).tokens.refreshToken;
    for (let i = 0; i < 3; i++) {
      h.advance(2000_000); // 33 min, inside the 1 h refresh lifetime
      const r = await h.service.refresh(token, meta);
      expect(r.tokens.refreshExpiresIn).toBeLessThanOrEqual(7200 - (i + 1) * 2000);
      token = r.tokens.refreshToken;
    }
    h.advance(2000_000); // now past the 2 h session cap
    await expect(h.service.refresh(token, meta)).rejects.toMatchObject({ reason: "TOKEN_EXPIRED" });
  });

  it("when a rotated token comes back inside the grace window, then the same pair is returned; after it, the family is revoked", async () => {
    const h = harness({ reuseInterval: 10 });
    const t1 = (await h.service.register(alice, meta)).tokens.refreshToken;
    const first = await h.service.refresh(t1, meta);
    const again = await h.service.refresh(t1, meta);
    expect(again.tokens).toEqual(first.tokens);
    h.advance(11_000);
    await expect(h.service.refresh(t1, meta)).rejects.toMatchObject({ reason: "TOKEN_REVOKED" });
    await expect(h.service.refresh(first.tokens.refreshToken, meta)).rejects.toMatchObject({ reason: "TOKEN_REVOKED" });
    expect(h.events.map((e) => e.event)).toContain("refresh_reuse_detected");
  });

  it("when events are emitted, then none carries a password or a token", async () => {
    const h = harness();
    const r = await h.service.register(alice, meta);
    await h.service.login({ emailOrUsername: "alice", password: alice.password }, meta);
    await h.service.refresh(r.tokens.refreshToken, meta);
    await h.service.logout(r.tokens.refreshToken, meta).catch(() => undefined);
    const text = JSON.stringify(h.events);
    expect(text).not.toContain(alice.password);
    expect(text).not.toContain(r.tokens.refreshToken);
    expect(h.events.map((e) => e.event)).toEqual(expect.arrayContaining(["register", "login", "refresh", "logout"]));
    expect(h.events.every((e) => e.clientAddress === meta.clientAddress)).toBe(true);
  });
});
