import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authClient, connectTransport } from "../helpers/clients.js";
import { createTestDatabase, postgresAvailable, type TestDatabase } from "../helpers/databases.js";
import { runToExit, spawnServer, uniqueUser } from "../helpers/server.js";

const PG = await postgresAvailable();

/** The service as a real process: restarts, start-up refusals, key formats. */
describe("the service process", () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "warden-proc-"));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it("when started with no settings, then it creates the SQLite file and a private dev key in DATA_DIR, and a restart keeps users, sessions and keys", async () => {
    const first = await spawnServer({ DATA_DIR: dataDir });
    const u = uniqueUser();
    let access: string;
    let refresh: string;
    let kid: string;
    try {
      const reg = await authClient(connectTransport(first.baseUrl)).register(u);
      access = reg.tokens?.accessToken ?? "";
      refresh = reg.tokens?.refreshToken ?? "";
      kid =
        ((await (await fetch(`${first.baseUrl}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> })
          .keys[0]?.kid ?? "";
    } finally {
      expect(await first.stop()).toBe(0);
    }
    expect((await stat(join(dataDir, "warden.sqlite"))).isFile()).toBe(true);
    const key = await stat(join(dataDir, "jwt-signing-key.pem"));
    expect(key.mode & 0o077).toBe(0); // readable by the owner only
    expect(await readFile(join(dataDir, "jwt-signing-key.pem"), "utf8")).toContain("PRIVATE KEY");
    // Likewise the key that encrypts TOTP secrets: made once, owner-only, kept across restarts.
    const mfaKey = join(dataDir, "mfa-encryption-keys");
    expect((await stat(mfaKey)).mode & 0o077).toBe(0);
    const mfaKeyText = await readFile(mfaKey, "utf8");

    const second = await spawnServer({ DATA_DIR: dataDir });
    try {
      const client = authClient(connectTransport(second.baseUrl));
      const jwks = (await (await fetch(`${second.baseUrl}/.well-known/jwks.json`)).json()) as {
        keys: Array<{ kid: string }>;
      };
      expect(jwks.keys.map((k) => k.kid)).toEqual([kid]);
      const me = await client.getCurrentUser({}, { headers: { authorization: `Bearer ${access}` } });
      expect(me.user?.email).toBe(u.email);
      const next = await client.refresh({ refreshToken: refresh });
      expect(next.user?.email).toBe(u.email);
      const login = await client.login({ emailOrUsername: u.username, password: u.password });
      expect(login.user?.lastLoginAt).toBeDefined();
    } finally {
      expect(await second.stop()).toBe(0);
    }
    expect(await readFile(mfaKey, "utf8")).toBe(mfaKeyText);
  });

  it("when NODE_ENV=production has no DATABASE_URL, then it refuses to start and names the variable", async () => {
    const { privateKey } = generateKeyPairSync("ed25519");
    const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const r = await runToExit({ NODE_ENV: "production", JWT_PRIVATE_KEY: pem, DATA_DIR: dataDir });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("DATABASE_URL");
    expect(r.stdout).not.toContain("listening");
  });

  it("when NODE_ENV=production has no signing key, then it refuses to start and names the variable", async () => {
    const r = await runToExit({
      NODE_ENV: "production",
      DATABASE_URL: `sqlite:${join(dataDir, "prod.sqlite")}`,
      DATA_DIR: dataDir,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("JWT_PRIVATE_KEY");
  });

  it("when NODE_ENV=production has no MFA_ENCRYPTION_KEYS, then it refuses to start and names the variable", async () => {
    const { privateKey } = generateKeyPairSync("ed25519");
    const r = await runToExit({
      NODE_ENV: "production",
      DATABASE_URL: `sqlite:${join(dataDir, "prod.sqlite")}`,
      JWT_PRIVATE_KEY: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
      DATA_DIR: dataDir,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("MFA_ENCRYPTION_KEYS");
  });

  it.each([
    ["PORT", "eighty"],
    ["BCRYPT_ROUNDS", "99"],
    ["ACCESS_TOKEN_TTL", "-5"],
    ["DATABASE_URL", "mysql://x"],
    ["LOG_LEVEL", "loud"],
  ])("when %s=%s, then it refuses to start and names the variable", async (name, value) => {
    const r = await runToExit({ [name]: value, DATA_DIR: dataDir });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(name);
  });

  it("when the configured key is not Ed25519 or not a key at all, then it refuses to start and says why", async () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 })
      .privateKey.export({ type: "pkcs8", format: "pem" })
      .toString();
    for (const key of [rsa, "not a key"]) {
      const r = await runToExit({ JWT_PRIVATE_KEY: key, DATA_DIR: dataDir });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain("JWT_PRIVATE_KEY");
      expect(r.stderr).not.toContain("PRIVATE KEY-----"); // never echo the key
    }
  });

  describe.skipIf(!PG)("in production on PostgreSQL", () => {
    let db: TestDatabase;
    // biome-ignore lint/suspicious/noDuplicateTestHooks: these belong to the nested describe.skipIf block, which the rule does not recognise
    beforeAll(async () => {
      db = await createTestDatabase("postgresql");
    });
    // biome-ignore lint/suspicious/noDuplicateTestHooks: these belong to the nested describe.skipIf block, which the rule does not recognise
    afterAll(() => db?.drop());

    it("when given a JWK key from a file and DATABASE_URL, then it migrates, serves, and signs with that key", async () => {
      const { privateKey } = generateKeyPairSync("ed25519");
      const jwk = await exportJWK(privateKey);
      const keyFile = join(dataDir, "prod-key.jwk");
      await writeFile(keyFile, JSON.stringify(jwk), { mode: 0o600 });
      const proc = await spawnServer({
        NODE_ENV: "production",
        DATABASE_URL: db.url,
        JWT_PRIVATE_KEY_FILE: keyFile,
        MFA_ENCRYPTION_KEYS: `prod-1:${randomBytes(32).toString("base64")}`,
        DATA_DIR: join(dataDir, "prod"),
      });
      try {
        const u = uniqueUser();
        const reg = await authClient(connectTransport(proc.baseUrl)).register(u);
        expect(reg.user?.email).toBe(u.email);
        const jwks = (await (await fetch(`${proc.baseUrl}/.well-known/jwks.json`)).json()) as {
          keys: Array<{ x: string; d?: string }>;
        };
        expect(jwks.keys[0]?.x).toBe(jwk.x);
        expect(jwks.keys[0]?.d).toBeUndefined(); // never the private part
      } finally {
        expect(await proc.stop()).toBe(0);
      }
      // Production never generated a key of its own.
      await expect(stat(join(dataDir, "prod", "jwt-signing-key.pem"))).rejects.toThrow();
      await expect(stat(join(dataDir, "prod", "mfa-encryption-keys"))).rejects.toThrow();
    });
  });
});
