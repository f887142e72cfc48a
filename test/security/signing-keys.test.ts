import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  calculateJwkThumbprint,
  decodeJwt,
  decodeProtectedHeader,
  exportJWK,
  type JWK,
  type JWTPayload,
  SignJWT,
} from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuthClient, authClient, connectTransport } from "../helpers/clients.js";
import { createTestDatabase, type TestDatabase } from "../helpers/databases.js";
import { outcome } from "../helpers/errors.js";
import { startServer, type TestServer, uniqueUser } from "../helpers/server.js";

const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const pem = (k: KeyObject) => k.export({ type: k.type === "private" ? "pkcs8" : "spki", format: "pem" }).toString();
const kidOf = async (k: KeyObject) =>
  calculateJwkThumbprint(await exportJWK(k.type === "public" ? k : createPublicKey(k)));
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

describe("signing keys and their rotation (JWT_KEYS_DIR)", () => {
  const retired = generateKeyPairSync("ed25519").privateKey;
  const current = generateKeyPairSync("ed25519").privateKey;
  const archived = generateKeyPairSync("ed25519").publicKey;
  const stranger = generateKeyPairSync("ed25519").privateKey;
  let db: TestDatabase;
  let before: TestServer; // signs with the retired key only: the state before the rotation
  let after: TestServer; // the same database after the new key was added
  let beforeDir: string;
  let afterDir: string;
  let client: AuthClient;
  let claims: JWTPayload; // of a real access token, for forging variants of it
  let kids: { retired: string; current: string; archived: string };

  beforeAll(async () => {
    beforeDir = await mkdtemp(join(tmpdir(), "warden-keys-"));
    afterDir = await mkdtemp(join(tmpdir(), "warden-keys-"));
    await writeFile(join(beforeDir, "2026-01-a.pem"), pem(retired));
    // Name order decides: the last private key signs; public-only files only verify.
    await writeFile(join(afterDir, "2025-01-archived.pub.pem"), pem(archived));
    await writeFile(join(afterDir, "2026-01-a.pem"), pem(retired));
    await writeFile(join(afterDir, "2026-06-b.pem"), pem(current));
    kids = { retired: await kidOf(retired), current: await kidOf(current), archived: await kidOf(archived) };
    db = await createTestDatabase("sqlite");
    before = await startServer({ db, keepDb: true, env: { JWT_KEYS_DIR: beforeDir } });
    after = await startServer({ db, keepDb: true, env: { JWT_KEYS_DIR: afterDir } });
    client = authClient(connectTransport(after.baseUrl));
    claims = decodeJwt((await client.register(uniqueUser())).tokens?.accessToken ?? "");
  });
  afterAll(async () => {
    await before?.close();
    await after?.close();
    await db?.drop();
    await rm(beforeDir, { recursive: true, force: true });
    await rm(afterDir, { recursive: true, force: true });
  });

  /** A token like the service's own, with any part changed. */
  async function forge(opts: { key?: KeyObject; header?: Record<string, unknown>; claims?: JWTPayload } = {}) {
    const header = { alg: "EdDSA", typ: "at+jwt", kid: kids.current, ...opts.header };
    return new SignJWT({ ...claims, ...opts.claims })
      .setProtectedHeader(header as { alg: string })
      .sign(opts.key ?? current);
  }

  it("when keys rotate, then the newest signs, every key is published with its kid, and no private part leaks", async () => {
    const u = uniqueUser();
    await client.register(u);
    const res = await client.login({ emailOrUsername: u.username, password: u.password });
    const access = res.tokens?.accessToken ?? "";
    expect(decodeProtectedHeader(access)).toMatchObject({ alg: "EdDSA", typ: "at+jwt", kid: kids.current });

    const jwks = (await (await fetch(`${after.baseUrl}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([kids.archived, kids.current, kids.retired].sort());
    for (const k of jwks.keys) {
      expect(k).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
      expect(k.d).toBeUndefined();
      expect(await calculateJwkThumbprint({ kty: k.kty, crv: k.crv, x: k.x })).toBe(k.kid);
    }
    expect((await (await fetch(`${before.baseUrl}/.well-known/jwks.json`)).json()) as { keys: JWK[] }).toMatchObject({
      keys: [{ kid: kids.retired }],
    });
  });

  it("when a token was signed before the rotation with the now retired key, then it still verifies", async () => {
    const u = uniqueUser();
    const old = await authClient(connectTransport(before.baseUrl)).register(u);
    const token = old.tokens?.accessToken ?? "";
    expect(decodeProtectedHeader(token).kid).toBe(kids.retired);
    expect((await client.getCurrentUser({}, bearer(token))).user?.id).toBe(old.user?.id);
    expect(
      await outcome(client.getCurrentUser({}, bearer(await forge({ key: retired, header: { kid: kids.retired } })))),
    ).toMatchObject({ reason: "ok" });
  });

  it("when a token is signed by an unknown key, under a known kid or not, then INVALID_TOKEN", async () => {
    for (const kid of [kids.current, "unknown-kid", undefined]) {
      const r = await outcome(client.getCurrentUser({}, bearer(await forge({ key: stranger, header: { kid } }))));
      expect(r.reason).toBe("INVALID_TOKEN");
    }
  });

  it("when the algorithm is none, HS256 keyed with the public key, or ES256, then INVALID_TOKEN (EdDSA only)", async () => {
    const none = `${b64({ alg: "none", typ: "at+jwt", kid: kids.current })}.${b64(claims)}.`;
    const pub = (await exportJWK(createPublicKey(current))).x ?? "";
    const hs = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: kids.current })
      .sign(Buffer.from(pub));
    const es = await new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: kids.current })
      .sign(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
    for (const token of [none, hs, es])
      expect((await outcome(client.getCurrentUser({}, bearer(token)))).reason).toBe("INVALID_TOKEN");
  });

  it("when typ, iss or aud is wrong or a required claim is missing, then INVALID_TOKEN; when exp has passed, then TOKEN_EXPIRED", async () => {
    expect(await outcome(client.getCurrentUser({}, bearer(await forge())))).toMatchObject({ reason: "ok" });
    const invalid = [
      await forge({ header: { typ: "JWT" } }),
      await forge({ header: { typ: undefined } }),
      await forge({ claims: { iss: "someone-else" } }),
      await forge({ claims: { aud: "another-service" } }),
      await forge({ claims: { sid: undefined } }),
      await forge({ claims: { exp: undefined } }),
    ];
    for (const token of invalid)
      expect((await outcome(client.getCurrentUser({}, bearer(token)))).reason).toBe("INVALID_TOKEN");
    const now = Math.floor(Date.now() / 1000);
    const expired = await forge({ claims: { iat: now - 3600, exp: now - 60 } });
    expect((await outcome(client.getCurrentUser({}, bearer(expired)))).reason).toBe("TOKEN_EXPIRED");
  });

  it("when a refresh token is presented as an access token, or the reverse, then INVALID_TOKEN", async () => {
    const reg = await client.register(uniqueUser());
    expect(await outcome(client.getCurrentUser({}, bearer(reg.tokens?.refreshToken ?? "")))).toMatchObject({
      reason: "INVALID_TOKEN",
    });
    expect(await outcome(client.refresh({ refreshToken: reg.tokens?.accessToken ?? "" }))).toMatchObject({
      reason: "INVALID_TOKEN",
    });
    expect(await outcome(client.logout({ refreshToken: reg.tokens?.accessToken ?? "" }))).toMatchObject({
      reason: "INVALID_TOKEN",
    });
  });
});
