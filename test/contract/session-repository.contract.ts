import { expect, it } from "vitest";
import type { Rotation } from "../../src/domain/ports.js";
import { later, newUser, type RepositoryFixture, tokenHash } from "./support.js";

/** A rotation of `oldTokenHash` to a new token, with a grace window of 10 s before `at`. */
const rotation = (
  sessionId: string,
  oldTokenHash: string,
  r: Partial<Rotation> & { at?: Date } = {},
): Rotation & { newTokenHash: string } => {
  const at = r.at ?? later(0);
  return {
    oldTokenHash,
    sessionId,
    newTokenHash: tokenHash(),
    newExpiresAt: later(900_000, at),
    successor: "sealed",
    sealsRotatedBefore: new Date(+at - 10_000),
    ...r,
    at,
  };
};

/** The SessionRepository contract: every implementation, on every database, passes these. */
export function sessionRepositoryContract(fixture: () => RepositoryFixture): void {
  const openSession = async () => {
    const { users, sessions } = fixture();
    const user = await users.create(newUser("s"));
    const hash = tokenHash();
    const expiresAt = later(3_600_000);
    const refreshExpiresAt = later(600_000);
    const session = await sessions.create({
      userId: user.id,
      expiresAt,
      refreshTokenHash: hash,
      refreshExpiresAt,
      clientAddress: "203.0.113.9",
      userAgent: "contract-test/1.0",
    });
    return { user, session, hash, expiresAt, refreshExpiresAt };
  };

  it("when a session is created, then it and its first refresh token are found, with the user, dates intact", async () => {
    const { sessions } = fixture();
    const { user, session, hash, expiresAt, refreshExpiresAt } = await openSession();
    expect(session).toMatchObject({ userId: user.id, expiresAt, revokedAt: null });
    expect(session.id).toMatch(/^[0-9a-f-]{36}$/);
    const found = await sessions.findRefreshToken(hash);
    expect(+(found?.createdAt ?? 0)).toBeGreaterThanOrEqual(+session.createdAt - 1000);
    expect(found).toEqual({
      tokenHash: hash,
      sessionId: session.id,
      userId: user.id,
      createdAt: found?.createdAt,
      expiresAt: refreshExpiresAt,
      rotatedAt: null,
      successor: null,
      sessionExpiresAt: expiresAt,
      sessionRevokedAt: null,
      sessionAmr: ["pwd"],
      user,
    });
    expect(await sessions.findSessionWithUser(session.id)).toEqual({ session, user });
  });

  it("when a session is created and its token rotated, then it keeps who opened it and its last use is the rotation's time", async () => {
    const { sessions, sql } = fixture();
    const { session, hash } = await openSession();
    const details = () =>
      sql
        .db()
        .selectFrom("sessions")
        .select(["client_address", "user_agent", "last_used_at"])
        .where("id", "=", session.id)
        .executeTakeFirstOrThrow();
    expect(await details()).toMatchObject({
      client_address: "203.0.113.9",
      user_agent: "contract-test/1.0",
      last_used_at: null,
    });
    const at = later(2_000);
    const rotation = {
      oldTokenHash: hash,
      sessionId: session.id,
      newExpiresAt: later(900_000),
      successor: "s",
      at,
      sealsRotatedBefore: new Date(+at - 10_000),
    };
    expect(await sessions.rotate({ ...rotation, newTokenHash: tokenHash() })).toBe(true);
    expect(sql.dateOrNull((await details()).last_used_at)).toEqual(at);
    // A rotation that loses stamps nothing.
    expect(await sessions.rotate({ ...rotation, newTokenHash: tokenHash(), at: later(60_000) })).toBe(false);
    expect(sql.dateOrNull((await details()).last_used_at)).toEqual(at);
  });

  it("when a token or session does not exist, then nothing is found", async () => {
    const { sessions } = fixture();
    expect(await sessions.findRefreshToken(tokenHash())).toBeNull();
    expect(await sessions.findSessionWithUser("00000000-0000-4000-8000-000000000000")).toBeNull();
  });

  it("when a token is rotated, then it is marked with the time and the sealed successor, and the new token belongs to the same session", async () => {
    const { sessions } = fixture();
    const { session, hash, user } = await openSession();
    const at = later(1_000);
    const newExpiresAt = later(900_000);
    const { newTokenHash: next, ...r } = rotation(session.id, hash, { at, newExpiresAt, successor: "sealed-pair" });
    expect(await sessions.rotate({ ...r, newTokenHash: next })).toBe(true);
    expect(await sessions.findRefreshToken(hash)).toMatchObject({ rotatedAt: at, successor: "sealed-pair" });
    expect(await sessions.findRefreshToken(next)).toMatchObject({
      sessionId: session.id,
      userId: user.id,
      createdAt: at,
      expiresAt: newExpiresAt,
      rotatedAt: null,
      successor: null,
      sessionExpiresAt: session.expiresAt,
    });
  });

  it("when an already rotated token is rotated again, then it loses and nothing is stored", async () => {
    const { sessions } = fixture();
    const { session, hash } = await openSession();
    expect(await sessions.rotate(rotation(session.id, hash))).toBe(true);
    const loser = rotation(session.id, hash);
    expect(await sessions.rotate(loser)).toBe(false);
    expect(await sessions.findRefreshToken(loser.newTokenHash)).toBeNull();
  });

  it("when twenty rotations of one token race, then exactly one wins and only its new token exists", async () => {
    const { sessions } = fixture();
    const { session, hash } = await openSession();
    const nexts = Array.from({ length: 20 }, tokenHash);
    const won = await Promise.all(
      nexts.map((next) =>
        sessions.rotate(rotation(session.id, hash, { newTokenHash: next, successor: `sealed-${next}` })),
      ),
    );
    expect(won.filter(Boolean)).toHaveLength(1);
    const winner = nexts[won.indexOf(true)] ?? "";
    const stored = await Promise.all(nexts.map((n) => sessions.findRefreshToken(n)));
    expect(stored.filter((r) => r !== null).map((r) => r?.tokenHash)).toEqual([winner]);
    expect((await sessions.findRefreshToken(hash))?.successor).toBe(`sealed-${winner}`);
  });

  it("when a session is revoked, then every token of the family shows it, and revoking again keeps the first time", async () => {
    const { sessions } = fixture();
    const { session, hash } = await openSession();
    const { newTokenHash: next, ...r } = rotation(session.id, hash);
    await sessions.rotate({ ...r, newTokenHash: next });
    const at = later(5_000);
    await sessions.revoke(session.id, at);
    await sessions.revoke(session.id, later(9_000));
    expect((await sessions.findRefreshToken(hash))?.sessionRevokedAt).toEqual(at);
    expect((await sessions.findRefreshToken(next))?.sessionRevokedAt).toEqual(at);
    expect((await sessions.findSessionWithUser(session.id))?.session.revokedAt).toEqual(at);
    // An ended family replays nothing: its seal is gone at once.
    expect((await sessions.findRefreshToken(hash))?.successor).toBeNull();
  });

  it("when all sessions of a user are revoked, then each of them is, with its seals cleared, and another user's are not", async () => {
    const { users, sessions } = fixture();
    const user = await users.create(newUser("all"));
    const other = await openSession();
    const hashes = [tokenHash(), tokenHash(), tokenHash()];
    const mine = await Promise.all(
      hashes.map((refreshTokenHash) =>
        sessions.create({
          userId: user.id,
          expiresAt: later(3_600_000),
          refreshTokenHash,
          refreshExpiresAt: later(600_000),
          clientAddress: "",
          userAgent: "",
        }),
      ),
    );
    await sessions.rotate(rotation(mine[0]?.id ?? "", hashes[0] ?? ""));
    await sessions.rotate(rotation(other.session.id, other.hash));
    const at = later(1_000);
    await sessions.revokeAllForUser(user.id, at);
    for (const s of mine) expect((await sessions.findSessionWithUser(s.id))?.session.revokedAt).toEqual(at);
    expect((await sessions.findSessionWithUser(other.session.id))?.session.revokedAt).toBeNull();
    // The ended sessions' seals are gone at once; the other user's stays.
    expect((await sessions.findRefreshToken(hashes[0] ?? ""))?.successor).toBeNull();
    expect((await sessions.findRefreshToken(other.hash))?.successor).toBe("sealed");
  });

  it("when the user is deactivated, then the session read shows the user inactive", async () => {
    const { users, sessions } = fixture();
    const { user, session, hash } = await openSession();
    await users.setActive(user.id, false);
    expect((await sessions.findSessionWithUser(session.id))?.user.isActive).toBe(false);
    expect((await sessions.findRefreshToken(hash))?.user.isActive).toBe(false);
  });

  it("when a token is rotated, then the seals of the session's tokens rotated before the cutoff are cleared, newer ones and other sessions' kept", async () => {
    const { sessions } = fixture();
    const a = await openSession();
    const b = await openSession();
    const t0 = later(0);
    const r1 = rotation(a.session.id, a.hash, { at: t0, successor: "seal-1" });
    await sessions.rotate(r1);
    const r2 = rotation(a.session.id, r1.newTokenHash, { at: new Date(+t0 + 5_000), successor: "seal-2" });
    await sessions.rotate(r2);
    const rb = rotation(b.session.id, b.hash, { at: t0, successor: "seal-b" });
    await sessions.rotate(rb);
    // Nothing rotated before t0: both seals of a still stand.
    expect((await sessions.findRefreshToken(a.hash))?.successor).toBe("seal-1");
    // 12 s after t0 the first seal of a is past a 10 s window, the second (at t0 + 5 s) is not.
    const r3 = rotation(a.session.id, r2.newTokenHash, { at: new Date(+t0 + 12_000), successor: "seal-3" });
    expect(await sessions.rotate(r3)).toBe(true);
    expect((await sessions.findRefreshToken(a.hash))?.successor).toBeNull();
    expect((await sessions.findRefreshToken(r1.newTokenHash))?.successor).toBe("seal-2");
    expect((await sessions.findRefreshToken(r2.newTokenHash))?.successor).toBe("seal-3");
    expect((await sessions.findRefreshToken(b.hash))?.successor).toBe("seal-b");
  });

  it("when a rotation asks for no clearing, then the session's older seals stay (the purge takes them)", async () => {
    const { sessions } = fixture();
    const { session, hash } = await openSession();
    const t0 = later(0);
    const r1 = rotation(session.id, hash, { at: t0, successor: "seal-1" });
    await sessions.rotate(r1);
    const r2 = rotation(session.id, r1.newTokenHash, { at: new Date(+t0 + 60_000), sealsRotatedBefore: null });
    expect(await sessions.rotate(r2)).toBe(true);
    expect((await sessions.findRefreshToken(hash))?.successor).toBe("seal-1");
  });

  it("when a rotation carries no seal, then none is stored", async () => {
    const { sessions } = fixture();
    const { session, hash } = await openSession();
    const r = rotation(session.id, hash, { successor: null });
    expect(await sessions.rotate(r)).toBe(true);
    expect(await sessions.findRefreshToken(hash)).toMatchObject({ successor: null });
    expect((await sessions.findRefreshToken(hash))?.rotatedAt).not.toBeNull();
  });

  it("when the purge runs, then it clears seals past their window, deletes expired tokens and ended sessions with their tokens, and leaves the rest", async () => {
    const { users, sessions } = fixture();
    const user = await users.create(newUser("purge"));
    const now = later(0);
    const ago = (ms: number) => new Date(+now - ms);
    const open = (expiresAt: Date, refreshExpiresAt: Date) => {
      const hash = tokenHash();
      return sessions
        .create({
          userId: user.id,
          expiresAt,
          refreshTokenHash: hash,
          refreshExpiresAt,
          clientAddress: "",
          userAgent: "",
        })
        .then((session) => ({ session, hash }));
    };
    // Live sessions: one rotated long ago (its seal is past the window), one rotated just now.
    const live = await open(later(3_600_000), later(600_000));
    const old = rotation(live.session.id, live.hash, { at: ago(60_000), successor: "old-seal" });
    await sessions.rotate(old);
    const fresh = await open(later(3_600_000), later(600_000));
    const recent = rotation(fresh.session.id, fresh.hash, { at: ago(1_000), successor: "recent-seal" });
    await sessions.rotate(recent);
    // A live session whose only token expired long ago.
    const stale = await open(later(3_600_000), ago(7_200_000));
    // Sessions that ended long ago (revoked, expired) and one revoked just now.
    const revoked = await open(later(3_600_000), later(600_000));
    await sessions.revoke(revoked.session.id, ago(7_200_000));
    const expired = await open(ago(7_200_000), ago(7_200_000));
    const justRevoked = await open(later(3_600_000), later(600_000));
    await sessions.revoke(justRevoked.session.id, ago(1_000));

    const cutoffs = {
      sealsRotatedBefore: ago(10_000),
      tokensExpiredBefore: ago(1_800_000),
      sessionsEndedBefore: ago(1_800_000),
      limit: 1000,
    };
    const counts = await sessions.purge(cutoffs);
    expect(counts.sealsCleared).toBeGreaterThanOrEqual(1);
    expect(counts.tokensDeleted).toBeGreaterThanOrEqual(1);
    expect(counts.sessionsDeleted).toBeGreaterThanOrEqual(2);

    expect(await sessions.findRefreshToken(live.hash)).toMatchObject({ successor: null, rotatedAt: old.at });
    expect(await sessions.findRefreshToken(old.newTokenHash)).toMatchObject({ rotatedAt: null });
    expect(await sessions.findRefreshToken(fresh.hash)).toMatchObject({ successor: "recent-seal" });
    expect(await sessions.findRefreshToken(stale.hash)).toBeNull();
    expect(await sessions.findSessionWithUser(stale.session.id)).not.toBeNull();
    for (const ended of [revoked, expired]) {
      expect(await sessions.findSessionWithUser(ended.session.id)).toBeNull();
      expect(await sessions.findRefreshToken(ended.hash)).toBeNull();
    }
    expect(await sessions.findRefreshToken(justRevoked.hash)).not.toBeNull();
    // A second run finds nothing more of this.
    const again = await sessions.purge(cutoffs);
    expect(again).toEqual({ sealsCleared: 0, tokensDeleted: 0, sessionsDeleted: 0 });
  });

  it("when more rows qualify than the limit, then each purge run touches at most the limit per statement, and a long family goes over several runs", async () => {
    const { users, sessions } = fixture();
    const user = await users.create(newUser("batch"));
    const longAgo = new Date(Date.now() - 86_400_000);
    const short = await Promise.all(
      Array.from({ length: 5 }, () =>
        sessions.create({
          userId: user.id,
          expiresAt: longAgo,
          refreshTokenHash: tokenHash(),
          refreshExpiresAt: longAgo,
          clientAddress: "",
          userAgent: "",
        }),
      ),
    );
    // A family of six tokens, revoked long ago.
    let hash = tokenHash();
    const family = await sessions.create({
      userId: user.id,
      expiresAt: later(3_600_000),
      refreshTokenHash: hash,
      refreshExpiresAt: later(3_600_000),
      clientAddress: "",
      userAgent: "",
    });
    for (let i = 0; i < 5; i++) {
      const r = rotation(family.id, hash, { newExpiresAt: later(3_600_000) });
      await sessions.rotate(r);
      hash = r.newTokenHash;
    }
    await sessions.revoke(family.id, longAgo);

    const cutoffs = {
      sealsRotatedBefore: new Date(),
      tokensExpiredBefore: new Date(),
      sessionsEndedBefore: new Date(),
    };
    const gone = async () =>
      (await Promise.all([...short, family].map((s) => sessions.findSessionWithUser(s.id)))).every((f) => f === null);
    let runs = 0;
    while (!(await gone()) && runs < 20) {
      const n = await sessions.purge({ ...cutoffs, limit: 2 });
      // Expired tokens and tokens of ended sessions: two statements of at most 2 rows each.
      expect(n.tokensDeleted).toBeLessThanOrEqual(4);
      expect(n.sessionsDeleted).toBeLessThanOrEqual(2);
      expect(n.sealsCleared).toBeLessThanOrEqual(2);
      runs++;
    }
    expect(await gone()).toBe(true);
    expect(runs).toBeGreaterThanOrEqual(3);
    expect(await sessions.findRefreshToken(hash)).toBeNull();
  });

  it("when a session is opened after a second factor, then both reads carry its amr; one opened without says password-only", async () => {
    const { users, sessions } = fixture();
    const user = await users.create(newUser("amr"));
    const hash = tokenHash();
    const session = await sessions.create({
      userId: user.id,
      expiresAt: later(3_600_000),
      refreshTokenHash: hash,
      refreshExpiresAt: later(600_000),
      clientAddress: "",
      userAgent: "",
      amr: ["pwd", "otp"],
    });
    expect(session.amr).toEqual(["pwd", "otp"]);
    expect((await sessions.findSessionWithUser(session.id))?.session.amr).toEqual(["pwd", "otp"]);
    expect((await sessions.findRefreshToken(hash))?.sessionAmr).toEqual(["pwd", "otp"]);
    const plain = await openSession();
    expect(plain.session.amr).toEqual(["pwd"]);
    expect((await sessions.findSessionWithUser(plain.session.id))?.session.amr).toEqual(["pwd"]);
  });
}
