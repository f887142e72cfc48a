import { generateKeyPairSync, randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";
import { createTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { runToExit, startServer } from "../helpers/server.js";

/**
 * Item 7 of issue 10: production refuses settings that switch protection
 * off (RATE_LIMIT_ENABLED=false, a private key others can read) and warns
 * about development defaults (CORS origins, iss and aud); the data folder
 * and the SQLite files are private to the service's user.
 */

const pem = () => generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();

/** Production requires the second factor's encryption key too. */
const mfaKey = () => `k1:${randomBytes(32).toString("base64")}`;

describe("settings in production", () => {
  let dir: string;
  let db: TestDatabase;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "warden-prod-"));
    db = await createTestDatabase("sqlite");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await db?.drop();
  });

  it("when NODE_ENV=production has RATE_LIMIT_ENABLED=false, then the configuration is refused", () => {
    const base = {
      NODE_ENV: "production",
      DATABASE_URL: "postgresql://h/db",
      JWT_PRIVATE_KEY: pem(),
      MFA_ENCRYPTION_KEYS: mfaKey(),
    };
    expect(() => loadConfig({ ...base, RATE_LIMIT_ENABLED: "false" })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, RATE_LIMIT_ENABLED: "false" })).toThrow(/RATE_LIMIT_ENABLED/);
    expect(loadConfig(base).rateLimit.enabled).toBe(true);
    // Development and tests may still switch it off.
    expect(loadConfig({ RATE_LIMIT_ENABLED: "false" }).rateLimit.enabled).toBe(false);
  });

  it("when the private key file is readable by group or others, then production refuses to start and names the file; with 0600 it starts", async () => {
    const keyFile = join(dir, "signing.pem");
    await writeFile(keyFile, pem());
    const env = {
      NODE_ENV: "production",
      DATABASE_URL: db.url,
      DATA_DIR: dir,
      JWT_PRIVATE_KEY_FILE: keyFile,
      MFA_ENCRYPTION_KEYS: mfaKey(),
    };
    for (const mode of [0o644, 0o640, 0o604]) {
      await chmod(keyFile, mode);
      const run = await runToExit(env);
      expect(run.code, mode.toString(8)).toBe(1);
      expect(run.stderr).toContain("JWT_PRIVATE_KEY_FILE");
      expect(run.stderr).toContain("readable by group or others");
    }
    await chmod(keyFile, 0o600);
    const server = await startServer({ db, keepDb: true, env });
    await server.close();
  });

  it("when production keeps the default CORS origins, issuer and audience, then each is one warning at start; when set, none", async () => {
    const env = { NODE_ENV: "production", JWT_PRIVATE_KEY: pem(), MFA_ENCRYPTION_KEYS: mfaKey() };
    const defaults = await startServer({ db, keepDb: true, env });
    await defaults.close();
    const warned = defaults.logs.filter((l) => l.level === "warn" && typeof l.setting === "string");
    expect(warned.map((l) => l.setting).sort()).toEqual(["CORS_ORIGINS", "JWT_AUDIENCE", "JWT_ISSUER"]);

    const set = await startServer({
      db,
      keepDb: true,
      env: {
        ...env,
        CORS_ORIGINS: "https://app.example.com",
        JWT_ISSUER: "https://auth.example.com",
        JWT_AUDIENCE: "api",
      },
    });
    await set.close();
    expect(set.logs.filter((l) => typeof l.setting === "string")).toEqual([]);
  });
});

describe("file modes of the data folder", () => {
  let parent: string;
  beforeAll(async () => {
    parent = await mkdtemp(join(tmpdir(), "warden-modes-"));
  });
  afterAll(() => rm(parent, { recursive: true, force: true }));

  it("when the service creates DATA_DIR, then it is 0700 and the SQLite files and the development key are 0600", async () => {
    const dataDir = join(parent, "fresh", "data");
    // No DATABASE_URL: the default SQLite file inside DATA_DIR.
    const server = await startServer({ env: { DATA_DIR: dataDir, DATABASE_URL: "" } });
    try {
      const mode = async (p: string) => (await stat(p)).mode & 0o777;
      expect(await mode(dataDir)).toBe(0o700);
      for (const file of ["warden.sqlite", "warden.sqlite-wal", "warden.sqlite-shm", "jwt-signing-key.pem"]) {
        expect(await mode(join(dataDir, file)), file).toBe(0o600);
      }
    } finally {
      await server.close();
    }
  });

  it("when a private key file of JWT_KEYS_DIR is readable by others outside production, then the service starts with a warning", async () => {
    const keysDir = join(parent, "keys");
    await rm(keysDir, { recursive: true, force: true });
    await mkdir(keysDir);
    await writeFile(join(keysDir, "2026-01.pem"), pem(), { mode: 0o644 });
    await chmod(join(keysDir, "2026-01.pem"), 0o644);
    const server = await startServer({ env: { JWT_KEYS_DIR: keysDir } });
    await server.close();
    expect(
      server.logs.some(
        (l) =>
          l.level === "warn" && String(l.message).includes("2026-01.pem") && String(l.message).includes("chmod 600"),
      ),
    ).toBe(true);
  });
});
