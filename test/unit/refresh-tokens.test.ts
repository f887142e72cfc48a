import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  createSuccessorSeal,
  hashRefreshToken,
  hkdfSha256,
  isRefreshTokenShaped,
  newRefreshToken,
} from "../../src/domain/refresh-tokens.js";

describe("refresh tokens", () => {
  it("when tokens are made, then they are 256-bit base64url strings, distinct, and stored only as a different digest", () => {
    const tokens = new Set(Array.from({ length: 1000 }, newRefreshToken));
    expect(tokens.size).toBe(1000);
    for (const t of tokens) expect(isRefreshTokenShaped(t)).toBe(true);
    const t = newRefreshToken();
    expect(Buffer.from(t, "base64url")).toHaveLength(32);
    expect(hashRefreshToken(t)).not.toBe(t);
    expect(hashRefreshToken(t)).toBe(hashRefreshToken(t));
  });

  it("when a successor is sealed, then only the replaced token together with the same server secret opens it", () => {
    const secret = randomBytes(48);
    const seal = createSuccessorSeal(secret);
    const token = newRefreshToken();
    const sealed = seal.seal(token, { refreshToken: "next" });
    expect(sealed).not.toContain("next");
    expect(seal.open(token, sealed)).toEqual({ refreshToken: "next" });
    // Another replica with the same secret opens it too.
    expect(createSuccessorSeal(Buffer.from(secret)).open(token, sealed)).toEqual({ refreshToken: "next" });
    expect(seal.open(newRefreshToken(), sealed)).toBeNull();
    expect(seal.open(hashRefreshToken(token), sealed)).toBeNull();
    expect(seal.open(token, `${sealed.slice(0, -2)}AA`)).toBeNull();
    expect(createSuccessorSeal(randomBytes(48)).open(token, sealed)).toBeNull();
  });

  it("when someone holds the stored seal and the replaced token but not the server secret, then the token-only key of the old scheme opens nothing", () => {
    const token = newRefreshToken();
    const sealed = createSuccessorSeal(randomBytes(48)).seal(token, { refreshToken: "next" });
    // What the seal used to be keyed by: the token alone.
    const tokenOnly = Buffer.from(hkdfSync("sha256", token, Buffer.alloc(0), "warden refresh successor v1", 32));
    const raw = Buffer.from(sealed, "base64url");
    const decipher = createDecipheriv("aes-256-gcm", tokenOnly, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    decipher.update(raw.subarray(28));
    expect(() => decipher.final()).toThrow();
  });

  it("when keys are derived, then hkdfSha256 gives exactly hkdfSync's bytes, whatever the input key, salt and info", () => {
    const inputs = ["", "a", newRefreshToken(), "pässwörd-🔑".repeat(20)];
    for (const ikm of inputs)
      for (const salt of [Buffer.alloc(0), randomBytes(32), randomBytes(100)])
        for (const info of [Buffer.alloc(0), Buffer.from("warden refresh successor v2"), randomBytes(64)])
          expect(hkdfSha256(ikm, salt, info).toString("hex")).toBe(
            Buffer.from(hkdfSync("sha256", ikm, salt, info, 32)).toString("hex"),
          );
  });

  it("when a seal was made with hkdfSync's keys (as before the HMAC derivation), then it still opens", () => {
    const secret = randomBytes(48);
    const token = newRefreshToken();
    const root = Buffer.from(hkdfSync("sha256", secret, "warden refresh successor seal", "v2", 32));
    const key = Buffer.from(hkdfSync("sha256", token, root, "warden refresh successor v2", 32));
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify({ refreshToken: "next" }), "utf8"), cipher.final()]);
    const sealed = Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64url");
    expect(createSuccessorSeal(secret).open(token, sealed)).toEqual({ refreshToken: "next" });
  });

  it("when the server secret is shorter than 32 bytes, then no seal is made", () => {
    expect(() => createSuccessorSeal(randomBytes(16))).toThrow(/32 bytes/);
  });

  it("when the same successor is sealed many times, across refills of the random pool, then no two seals share an IV", () => {
    const token = newRefreshToken();
    const { seal } = createSuccessorSeal(randomBytes(32));
    const ivs = new Set(
      Array.from({ length: 1000 }, () =>
        Buffer.from(seal(token, { refreshToken: "next" }), "base64url")
          .subarray(0, 12)
          .toString("hex"),
      ),
    );
    expect(ivs.size).toBe(1000);
  });
});
