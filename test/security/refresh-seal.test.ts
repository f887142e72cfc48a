import { createDecipheriv, createPrivateKey, hkdfSync } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createOrm, type Orm } from "../../src/db/orm.js";
import { createSuccessorSeal, hashRefreshToken } from "../../src/domain/refresh-tokens.js";
import { type AuthClient, authClient, connectTransport } from "../helpers/clients.js";
import { describeEachDatabase } from "../helpers/databases.js";
import { outcome } from "../helpers/errors.js";
import { startServer, type TestServer, testClock, uniqueUser } from "../helpers/server.js";

/**
 * Issue 10, item 3: a copy of the database plus an old refresh token must not
 * give a live token. The grace-window seal needs a server secret besides the
 * token, it is cleared once its window has passed, and the rows of ended
 * sessions and expired tokens are purged.
 */

interface TokenRow {
  token_hash: string;
  session_id: string;
  successor: string | null;
}

/** A second connection to the server's database: what a copy of it would show. */
async function openCopy(
  server: TestServer,
): Promise<{ orm: Orm; tokens(): Promise<TokenRow[]>; sessions(): Promise<string[]> }> {
  const orm = await createOrm(loadConfig({ DATABASE_URL: server.db.url }).database);
  return {
    orm,
    tokens: () =>
      orm.em.getConnection().execute<TokenRow[]>("select token_hash, session_id, successor from refresh_tokens"),
    sessions: async () =>
      (await orm.em.getConnection().execute<Array<{ id: string }>>("select id from sessions")).map((r) => r.id),
  };
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Opens a seal the way it was keyed before issue 10: HKDF of the replaced token alone. */
function openWithTokenOnly(token: string, sealed: string): unknown {
  try {
    const key = Buffer.from(hkdfSync("sha256", token, Buffer.alloc(0), "warden refresh successor v1", 32));
    const raw = Buffer.from(sealed, "base64url");
    const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8"));
  } catch {
    return null;
  }
}

const rowOf = (rows: TokenRow[], token: string) => rows.find((r) => r.token_hash === hashRefreshToken(token));

await describeEachDatabase(describe, "refresh seal and purge", (kind) => {
  describe("without the periodic purge", () => {
    const clock = testClock();
    let server: TestServer;
    let client: AuthClient;
    let copy: Awaited<ReturnType<typeof openCopy>>;
    beforeAll(async () => {
      server = await startServer({
        db: kind,
        clock,
        env: { REFRESH_REUSE_INTERVAL: "10", SESSION_PURGE_INTERVAL: "0" },
      });
      client = authClient(connectTransport(server.baseUrl));
      copy = await openCopy(server);
    });
    afterAll(async () => {
      await copy?.orm.close(true);
      await server?.close();
    });

    it("when a copy of the database and the oldest refresh token of a session are at hand, then no seal opens without the server's secret, and the chain leads nowhere", async () => {
      const t1 = (await client.register(uniqueUser("seal"))).tokens?.refreshToken ?? "";
      const t2 = (await client.refresh({ refreshToken: t1 })).tokens?.refreshToken ?? "";
      const t3 = (await client.refresh({ refreshToken: t2 })).tokens?.refreshToken ?? "";
      const rows = await copy.tokens();
      const sealed = rowOf(rows, t1)?.successor;
      expect(sealed).toBeTruthy();
      // Walk the chain as an attacker with the copy would: open the seal of the token at hand, take the
      // token inside, look up its row, repeat. Keyed by the token alone (the scheme before), nothing opens.
      let token = t1;
      const walked: string[] = [];
      for (let row = rowOf(rows, token); row?.successor; row = rowOf(rows, token)) {
        const opened = openWithTokenOnly(token, row.successor) as { refreshToken?: string } | null;
        if (!opened?.refreshToken) break;
        token = opened.refreshToken;
        walked.push(token);
      }
      expect(walked).toEqual([]);
      // With the server's secret (derived from its signing key, which the database never holds) it does
      // open: the seal is what the grace window replays, and the test above can fail.
      const pem = await readFile(join(server.dataDir, "jwt-signing-key.pem"), "utf8");
      const secret = createPrivateKey(pem).export({ format: "der", type: "pkcs8" });
      const seal = createSuccessorSeal(secret);
      expect(seal.open(t1, sealed ?? "")).toMatchObject({ refreshToken: t2 });
      expect(seal.open(t2, rowOf(rows, t2)?.successor ?? "")).toMatchObject({ refreshToken: t3 });
    });

    it("when the grace window has passed, then the next rotation of the session clears the stored successor", async () => {
      const t1 = (await client.register(uniqueUser("clear"))).tokens?.refreshToken ?? "";
      const t2 = (await client.refresh({ refreshToken: t1 })).tokens?.refreshToken ?? "";
      expect(rowOf(await copy.tokens(), t1)?.successor).toBeTruthy();
      clock.advance(11_000);
      const t3 = (await client.refresh({ refreshToken: t2 })).tokens?.refreshToken ?? "";
      const rows = await copy.tokens();
      expect(rowOf(rows, t1)).toMatchObject({ successor: null });
      // The seal of the rotation just made stays for its own window.
      expect(rowOf(rows, t2)?.successor).toBeTruthy();
      expect(rowOf(rows, t3)).toMatchObject({ successor: null });
      // And the old token still trips reuse detection.
      expect((await outcome(client.refresh({ refreshToken: t1 }))).reason).toBe("TOKEN_REVOKED");
    });

    it("when a session ends by logout, then its seals are cleared at once", async () => {
      const t1 = (await client.register(uniqueUser("out"))).tokens?.refreshToken ?? "";
      const t2 = (await client.refresh({ refreshToken: t1 })).tokens?.refreshToken ?? "";
      expect(rowOf(await copy.tokens(), t1)?.successor).toBeTruthy();
      await client.logout({ refreshToken: t2 });
      expect(rowOf(await copy.tokens(), t1)).toMatchObject({ successor: null });
    });
  });

  describe("with the periodic purge", () => {
    const clock = testClock();
    let server: TestServer;
    let client: AuthClient;
    let copy: Awaited<ReturnType<typeof openCopy>>;
    beforeAll(async () => {
      server = await startServer({
        db: kind,
        clock,
        env: {
          REFRESH_REUSE_INTERVAL: "10",
          SESSION_PURGE_INTERVAL: "1",
          ACCESS_TOKEN_TTL: "30",
          REFRESH_TOKEN_TTL: "60",
          SESSION_MAX_LIFETIME: "120",
        },
      });
      client = authClient(connectTransport(server.baseUrl));
      copy = await openCopy(server);
    });
    afterAll(async () => {
      await copy?.orm.close(true);
      await server?.close();
    });

    it("when the grace window has passed, then the purge clears the stored successor with no further refresh", async () => {
      const t1 = (await client.register(uniqueUser("purge"))).tokens?.refreshToken ?? "";
      await client.refresh({ refreshToken: t1 });
      expect(rowOf(await copy.tokens(), t1)?.successor).toBeTruthy();
      clock.advance(11_000);
      await waitFor("the seal to be cleared", async () => rowOf(await copy.tokens(), t1)?.successor === null);
    });

    it("when sessions have ended (logged out, or past their lifetime) longer ago than an access token lives, then their rows are purged, and a live session's are not", async () => {
      const loggedOut = await client.register(uniqueUser("ended"));
      const lo1 = loggedOut.tokens?.refreshToken ?? "";
      const lo2 = (await client.refresh({ refreshToken: lo1 })).tokens?.refreshToken ?? "";
      await client.logout({ refreshToken: lo2 });
      const expiring = await client.register(uniqueUser("expires"));
      const ex1 = expiring.tokens?.refreshToken ?? "";
      const ex2 = (await client.refresh({ refreshToken: ex1 })).tokens?.refreshToken ?? "";
      const sessionsOf = async (...tokens: string[]) => {
        const rows = await copy.tokens();
        return new Set(tokens.map((t) => rowOf(rows, t)?.session_id));
      };
      const [loSession] = await sessionsOf(lo1);
      const [exSession] = await sessionsOf(ex1);
      expect(loSession).toBeDefined();
      expect(exSession).toBeDefined();
      expect(await sessionsOf(lo1, lo2)).toHaveProperty("size", 1);

      // The logged-out session ended now; the other ends in 120 s. 31 s on, only the first is gone.
      clock.advance(31_000);
      const live = (await client.register(uniqueUser("live"))).tokens?.refreshToken ?? "";
      await waitFor(
        "the logged-out session's rows to go",
        async () => !(await copy.sessions()).includes(loSession ?? ""),
      );
      const rows = await copy.tokens();
      expect(rowOf(rows, lo1)).toBeUndefined();
      expect(rowOf(rows, lo2)).toBeUndefined();
      expect(rowOf(rows, ex2)).toBeDefined();
      expect(rowOf(rows, live)).toBeDefined();

      // Past the session lifetime (120 s) and an access-token lifetime more, the expired one goes too.
      clock.advance(121_000);
      await waitFor("the expired session's rows to go", async () => !(await copy.sessions()).includes(exSession ?? ""));
      const after = await copy.tokens();
      expect(rowOf(after, ex1)).toBeUndefined();
      expect(rowOf(after, ex2)).toBeUndefined();
      // The refresh token of the session opened 31 s in expired 60 s later, with the session still open:
      // it goes once an access-token lifetime has passed after that.
      expect(rowOf(after, live)).toBeUndefined();
    });
  });
});
