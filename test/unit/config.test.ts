import { isAbsolute } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("loadConfig", () => {
  it("when nothing is set, then the documented defaults apply and SQLite lives in ./data", () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.env).toBe("development");
    expect(c.database.kind).toBe("sqlite");
    expect(c.database.kind === "sqlite" && c.database.path.endsWith("data/warden.sqlite")).toBe(true);
    expect(c.jwt.accessTtlSeconds).toBe(1800);
    expect(c.jwt.refreshTtlSeconds).toBe(604_800);
    expect(c.password.minLength).toBe(12);
    expect(c.password.bcryptRounds).toBe(12);
    expect(c.http.corsOrigins).toEqual(["http://localhost:3000", "http://localhost:8000"]);
    expect(Object.isFrozen(c) && Object.isFrozen(c.jwt)).toBe(true);
  });

  it("when DATABASE_URL names PostgreSQL or a SQLite path, then that database is selected", () => {
    const pg = loadConfig({ DATABASE_URL: "postgresql://u:p@db:5432/auth" });
    expect(pg.database).toEqual({ kind: "postgresql", url: "postgresql://u:p@db:5432/auth" });
    const file = loadConfig({ DATABASE_URL: "sqlite:./x/y.sqlite" });
    expect(file.database.kind === "sqlite" && isAbsolute(file.database.path)).toBe(true);
  });

  it("when several values are bad, then one error names every variable", () => {
    try {
      loadConfig({ PORT: "x", BCRYPT_ROUNDS: "3", CORS_ORIGINS: "http://a", ACCESS_TOKEN_TTL: "1.5" });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const msg = (e as Error).message;
      for (const name of ["PORT", "BCRYPT_ROUNDS", "ACCESS_TOKEN_TTL"]) expect(msg).toContain(name);
      expect(msg).not.toContain("CORS_ORIGINS");
    }
  });

  it("when production lacks a database or a key, then it is refused; with all of them it loads", () => {
    const mfaKey = `k1:${Buffer.alloc(32, 7).toString("base64")}`;
    expect(() => loadConfig({ NODE_ENV: "production", JWT_PRIVATE_KEY: "k", MFA_ENCRYPTION_KEYS: mfaKey })).toThrow(
      /DATABASE_URL/,
    );
    expect(() =>
      loadConfig({ NODE_ENV: "production", DATABASE_URL: "postgresql://h/db", MFA_ENCRYPTION_KEYS: mfaKey }),
    ).toThrow(/JWT_PRIVATE_KEY/);
    expect(() => loadConfig({ NODE_ENV: "production", DATABASE_URL: "postgresql://h/db", JWT_KEYS_DIR: "/k" })).toThrow(
      /MFA_ENCRYPTION_KEYS/,
    );
    const prod = { NODE_ENV: "production", DATABASE_URL: "postgresql://h/db", JWT_KEYS_DIR: "/keys" };
    expect(loadConfig({ ...prod, MFA_ENCRYPTION_KEYS: mfaKey }).env).toBe("production");
  });

  it("when MFA_ENCRYPTION_KEYS is malformed, then it is refused without echoing the key; the second-factor settings default", () => {
    const short = Buffer.alloc(16, 9).toString("base64");
    for (const bad of [
      `k1:${short}`,
      "no-colon",
      `k1:${Buffer.alloc(32).toString("base64")},k1:${Buffer.alloc(32).toString("base64")}`,
    ]) {
      try {
        loadConfig({ MFA_ENCRYPTION_KEYS: bad });
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as Error).message).toContain("MFA_ENCRYPTION_KEYS");
        expect((e as Error).message).not.toContain(short);
      }
    }
    const c = loadConfig({});
    expect(c.mfa).toEqual({ issuer: "warden", challengeTtlSeconds: 300, encryptionKeys: undefined });
    expect(() => loadConfig({ MFA_CHALLENGE_TTL: "301" })).toThrow(/MFA_CHALLENGE_TTL/);
  });

  it("when a variable is set but empty, then it counts as unset", () => {
    expect(loadConfig({ PORT: "", DATABASE_URL: "" }).port).toBe(8080);
  });
});
