import { expect, it } from "vitest";
import { later, newUser, type RepositoryFixture, tokenHash } from "./support.js";

/** The SessionRepository contract: every implementation, on every database, passes these. */
export function sessionRepositoryContract(fixture: () => RepositoryFixture): void {
  const openSession = async () => {
    const { users, sessions } = fixture();
    const user = await users.create(newUser("s"));
    const hash = tokenHash();
    const expiresAt = later(3_600_000);
    const refreshExpiresAt = later(600_000);
    const session = await sessions.create({ userId: user.id, expiresAt, refreshTokenHash: hash, refreshExpiresAt });
    return { user, session, hash, expiresAt, refreshExpiresAt };
  };

  it("when a session is created, then it and its first refresh token are found, with the user, dates intact", async () => {
    const { sessions } = fixture();
    const { user, session, hash, expiresAt, refreshExpiresAt } = await openSession();
    expect(session).toMatchObject({ userId: user.id, expiresAt, revokedAt: null });
    expect(session.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await sessions.findRefreshToken(hash)).toEqual({
      tokenHash: hash,
      sessionId: session.id,
      userId: user.id,
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

  it("when a token or session does not exist, then nothing is found", async () => {
    const { sessions } = fixture();
    expect(await sessions.findRefreshToken(tokenHash())).toBeNull();
    expect(await sessions.findSessionWithUser("00000000-0000-4000-8000-000000000000")).toBeNull();
  });

  it("when a token is rotated, then it is marked with the time and the sealed successor, and the new token belongs to the same session", async () => {
    const { sessions } = fixture();
    const { session, hash, user } = await openSession();
    const next = tokenHash();
    const at = later(1_000);
    const newExpiresAt = later(900_000);
    expect(
      await sessions.rotate({
        oldTokenHash: hash,
        sessionId: session.id,
        newTokenHash: next,
        newExpiresAt,
        successor: "sealed-pair",
        at,
      }),
    ).toBe(true);
    expect(await sessions.findRefreshToken(hash)).toMatchObject({ rotatedAt: at, successor: "sealed-pair" });
    expect(await sessions.findRefreshToken(next)).toMatchObject({
      sessionId: session.id,
      userId: user.id,
      expiresAt: newExpiresAt,
      rotatedAt: null,
      successor: null,
      sessionExpiresAt: session.expiresAt,
    });
  });

  it("when an already rotated token is rotated again, then it loses and nothing is stored", async () => {
    const { sessions } = fixture();
    const { session, hash } = await openSession();
    const rotation = (next: string) => ({
      oldTokenHash: hash,
      sessionId: session.id,
      newTokenHash: next,
      newExpiresAt: later(900_000),
      successor: "sealed",
      at: later(0),
    });
    expect(await sessions.rotate(rotation(tokenHash()))).toBe(true);
    const loser = tokenHash();
    expect(await sessions.rotate(rotation(loser))).toBe(false);
    expect(await sessions.findRefreshToken(loser)).toBeNull();
  });

  it("when twenty rotations of one token race, then exactly one wins and only its new token exists", async () => {
    const { sessions } = fixture();
    const { session, hash } = await openSession();
    const nexts = Array.from({ length: 20 }, tokenHash);
    const won = await Promise.all(
      nexts.map((next) =>
        sessions.rotate({
          oldTokenHash: hash,
          sessionId: session.id,
          newTokenHash: next,
          newExpiresAt: later(900_000),
          successor: `sealed-${next}`,
          at: later(0),
        }),
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
    const next = tokenHash();
    await sessions.rotate({
      oldTokenHash: hash,
      sessionId: session.id,
      newTokenHash: next,
      newExpiresAt: later(900_000),
      successor: "sealed",
      at: later(0),
    });
    const at = later(5_000);
    await sessions.revoke(session.id, at);
    await sessions.revoke(session.id, later(9_000));
    expect((await sessions.findRefreshToken(hash))?.sessionRevokedAt).toEqual(at);
    expect((await sessions.findRefreshToken(next))?.sessionRevokedAt).toEqual(at);
    expect((await sessions.findSessionWithUser(session.id))?.session.revokedAt).toEqual(at);
  });

  it("when all sessions of a user are revoked, then each of them is, and another user's are not", async () => {
    const { users, sessions } = fixture();
    const user = await users.create(newUser("all"));
    const other = await openSession();
    const mine = await Promise.all(
      [1, 2, 3].map(() =>
        sessions.create({
          userId: user.id,
          expiresAt: later(3_600_000),
          refreshTokenHash: tokenHash(),
          refreshExpiresAt: later(600_000),
        }),
      ),
    );
    const at = later(1_000);
    await sessions.revokeAllForUser(user.id, at);
    for (const s of mine) expect((await sessions.findSessionWithUser(s.id))?.session.revokedAt).toEqual(at);
    expect((await sessions.findSessionWithUser(other.session.id))?.session.revokedAt).toBeNull();
  });

  it("when the user is deactivated, then the session read shows the user inactive", async () => {
    const { users, sessions } = fixture();
    const { user, session, hash } = await openSession();
    await users.setActive(user.id, false);
    expect((await sessions.findSessionWithUser(session.id))?.user.isActive).toBe(false);
    expect((await sessions.findRefreshToken(hash))?.user.isActive).toBe(false);
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
