import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  acceptableStep,
  newRecoveryCode,
  newRecoveryCodes,
  normalizeRecoveryCode,
  normalizeTotpCode,
  totpStep,
} from "../../src/domain/mfa-rules.js";
import { loadMfaKeys, MfaKeyError, parseMfaKeys } from "../../src/mfa/keys.js";
import { createRecoveryCodeHasher } from "../../src/mfa/recovery-code-hasher.js";
import { createSecretSealer } from "../../src/mfa/secret-sealer.js";
import { createTotp } from "../../src/mfa/totp.js";
import { hotpCode as referenceCode } from "../helpers/totp.js";

const totp = createTotp({ issuer: "warden" });

/** A fixed clock: the middle of one 30-second step. */
const T0 = new Date("2026-11-30T12:00:15.000Z");
const S0 = totpStep(T0);
const at = (steps: number) => new Date(+T0 + steps * 30_000);

describe("TOTP (RFC 6238, SHA-1, 6 digits, 30 s)", () => {
  it("when the RFC 6238 test vectors are checked, then the codes match (last six digits of the 8-digit values)", () => {
    const rfcSecret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; // "12345678901234567890"
    const vectors: Array<[number, string]> = [
      [59, "287082"],
      [1111111109, "081804"],
      [1234567890, "005924"],
      [2000000000, "279037"],
    ];
    for (const [seconds, code] of vectors) {
      const when = new Date(seconds * 1000);
      expect(totp.matchingSteps(rfcSecret, code, when)).toContain(totpStep(when));
      expect(referenceCode(rfcSecret, totpStep(when))).toBe(code);
    }
  });

  it("when a code is checked with a fixed clock, then one step of skew either way is accepted and two are refused", () => {
    const secret = totp.newSecret();
    const code = referenceCode(secret, S0);
    expect(totp.matchingSteps(secret, code, T0)).toEqual([S0]);
    expect(totp.matchingSteps(secret, code, at(1))).toEqual([S0]); // the client's clock is 30 s slow
    expect(totp.matchingSteps(secret, code, at(-1))).toEqual([S0]); // 30 s fast
    expect(totp.matchingSteps(secret, code, at(2))).toEqual([]);
    expect(totp.matchingSteps(secret, code, at(-2))).toEqual([]);
    // The edges of the window are whole steps: the last millisecond of step S0+1 still accepts.
    expect(totp.matchingSteps(secret, code, new Date((S0 + 2) * 30_000 - 1))).toEqual([S0]);
    expect(totp.matchingSteps(secret, code, new Date((S0 + 2) * 30_000))).toEqual([]);
    expect(totp.matchingSteps(secret, referenceCode(secret, S0 + 1), T0)).toEqual([S0 + 1]);
    expect(totp.matchingSteps(secret, "000000", T0).length).toBeLessThanOrEqual(3);
  });

  it("when a code was accepted, then it and every earlier step are refused, and a later step is accepted (replay rule)", () => {
    const secret = totp.newSecret();
    const code = referenceCode(secret, S0);
    const first = acceptableStep(totp.matchingSteps(secret, code, T0), null);
    expect(first).toBe(S0);
    // The same code again, within the same step and within the skew window after it.
    expect(acceptableStep(totp.matchingSteps(secret, code, T0), first)).toBeNull();
    expect(acceptableStep(totp.matchingSteps(secret, code, at(1)), first)).toBeNull();
    // The previous step's code, still inside the window, is refused too: it is older.
    expect(acceptableStep(totp.matchingSteps(secret, referenceCode(secret, S0 - 1), T0), first)).toBeNull();
    // The next step's code is new.
    expect(acceptableStep(totp.matchingSteps(secret, referenceCode(secret, S0 + 1), at(1)), first)).toBe(S0 + 1);
    // Of several matching steps, the earliest unused one is taken.
    expect(acceptableStep([S0 + 1, S0 - 1, S0], S0 - 1)).toBe(S0);
  });

  it("when codes are typed with spaces or are not six digits, then only six digits count", () => {
    expect(normalizeTotpCode(" 123 456 ")).toBe("123456");
    for (const bad of ["12345", "1234567", "12345a", "", "١٢٣٤٥٦"]) expect(normalizeTotpCode(bad)).toBeNull();
  });

  it("when the otpauth URI is made, then it names the issuer, the account, SHA1, 6 digits, 30 s and the secret", () => {
    const secret = totp.newSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/); // 160 bits
    const uri = new URL(createTotp({ issuer: "Acme Co" }).uri(secret, "alice@example.com"));
    expect(uri.protocol).toBe("otpauth:");
    expect(uri.host).toBe("totp");
    expect(decodeURIComponent(uri.pathname)).toBe("/Acme Co:alice@example.com");
    expect(uri.searchParams.get("issuer")).toBe("Acme Co");
    expect(uri.searchParams.get("secret")).toBe(secret);
    expect(uri.searchParams.get("algorithm")).toBe("SHA1");
    expect(uri.searchParams.get("digits")).toBe("6");
    expect(uri.searchParams.get("period")).toBe("30");
  });
});

describe("recovery codes", () => {
  it("when a set is made, then it has 10 distinct xxxxx-xxxxx codes of 50 bits that survive case, dashes and look-alikes", () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/);
    const code = "ab1de-0fghj";
    expect(normalizeRecoveryCode(code)).toBe("ab1de0fghj");
    expect(normalizeRecoveryCode("AB1DE0FGHJ")).toBe("ab1de0fghj");
    expect(normalizeRecoveryCode(" abIde - OfGhj ")).toBe("ab1de0fghj");
    for (const bad of ["ab1de-0fgh", "ab1de-0fghjk", "ab1de-0fgh!", "123456"])
      expect(normalizeRecoveryCode(bad)).toBeNull();
    // 32 symbols × 10 positions = 50 bits; over many draws every symbol of the alphabet appears.
    const seen = new Set(Array.from({ length: 400 }, newRecoveryCode).join("").replaceAll("-", ""));
    expect(seen.size).toBe(32);
  });

  it("when a code is hashed, then the digest depends on the key and the user, and every listed key gives one", () => {
    const [k1, k2] = [randomBytes(32).toString("base64"), randomBytes(32).toString("base64")];
    const one = createRecoveryCodeHasher(parseMfaKeys(`a:${k1}`));
    const both = createRecoveryCodeHasher(parseMfaKeys(`b:${k2},a:${k1}`));
    const h = one.hashes("user-1", "ab1de0fghj");
    expect(h).toHaveLength(1);
    expect(h[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(both.hashes("user-1", "ab1de0fghj")[1]).toBe(h[0]); // the old key still finds old codes
    expect(both.hashes("user-1", "ab1de0fghj")[0]).not.toBe(h[0]);
    expect(one.hashes("user-2", "ab1de0fghj")[0]).not.toBe(h[0]);
  });
});

describe("TOTP secret encryption (AES-256-GCM)", () => {
  const key = (kid: string) => `${kid}:${randomBytes(32).toString("base64")}`;

  it("when a secret is sealed, then only the same user id and a listed key open it, and rotation keeps old ones readable", () => {
    const old = key("old");
    const sealer = createSecretSealer(parseMfaKeys(old));
    const sealed = sealer.seal("JBSWY3DPEHPK3PXP", "user-1");
    expect(sealed.keyId).toBe("old");
    expect(sealed.ciphertext).not.toContain("JBSWY3DPEHPK3PXP");
    expect(sealer.seal("JBSWY3DPEHPK3PXP", "user-1").ciphertext).not.toBe(sealed.ciphertext); // fresh IV
    expect(sealer.open(sealed, "user-1")).toBe("JBSWY3DPEHPK3PXP");
    expect(() => sealer.open(sealed, "user-2")).toThrow();
    expect(() => createSecretSealer(parseMfaKeys(key("old"))).open(sealed, "user-1")).toThrow();
    const tampered = { ...sealed, ciphertext: `${sealed.ciphertext.slice(0, -2)}AA` };
    expect(() => sealer.open(tampered, "user-1")).toThrow();

    const rotated = createSecretSealer(parseMfaKeys(`${key("new")},${old}`));
    expect(rotated.open(sealed, "user-1")).toBe("JBSWY3DPEHPK3PXP");
    expect(rotated.seal("X", "user-1").keyId).toBe("new");
    expect(() => createSecretSealer(parseMfaKeys(key("new"))).open(sealed, "user-1")).toThrow(/unknown key id/);
  });

  it("when keys are malformed, then parsing refuses them without echoing the key", () => {
    const short = randomBytes(16).toString("base64");
    for (const bad of ["", "nokid", `:${randomBytes(32).toString("base64")}`, `k:${short}`, "k:!!!"]) {
      expect(() => parseMfaKeys(bad)).toThrow(MfaKeyError);
    }
    const message = (() => {
      try {
        parseMfaKeys(`k:${short}`);
        return "";
      } catch (e) {
        return (e as Error).message;
      }
    })();
    expect(message).toContain("must be 32 bytes");
    expect(message).not.toContain(short);
    const urlSafe = randomBytes(32).toString("base64url");
    expect(parseMfaKeys(`k:${urlSafe}`)[0]?.key).toHaveLength(32);
  });

  it("when no key is configured outside production, then one is generated once into DATA_DIR with mode 0600", async () => {
    const dir = await mkdtemp(join(tmpdir(), "warden-mfa-keys-"));
    try {
      const first = await loadMfaKeys({ dataDir: dir, allowGenerate: true });
      const again = await loadMfaKeys({ dataDir: dir, allowGenerate: true });
      expect(again[0]?.kid).toBe(first[0]?.kid);
      expect(again[0]?.key.equals(first[0]?.key ?? Buffer.alloc(0))).toBe(true);
      const file = join(dir, "mfa-encryption-keys");
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await readFile(file, "utf8")).toMatch(/^dev-[0-9a-f]{8}:/);
      await expect(loadMfaKeys({ dataDir: dir, allowGenerate: false })).rejects.toThrow(/MFA_ENCRYPTION_KEYS/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
