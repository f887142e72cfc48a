import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { chmod, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { calculateJwkThumbprint, exportJWK, type JWK } from "jose";
import { makePrivateDir } from "../storage/private-files.js";
import { looseKeyFileMode } from "./key-file-mode.js";

/** The one signing algorithm; verification allows exactly this one (RFC 8725 §3.1). */
export const JWT_ALG = "EdDSA";

export interface VerificationKey {
  readonly kid: string;
  readonly publicKey: KeyObject;
  readonly jwk: JWK;
}

export interface KeyRing {
  /** The newest private key; it signs every new token. */
  readonly signing: { readonly kid: string; readonly privateKey: KeyObject };
  /** Every key that still verifies, the signing key first. All are published. */
  readonly verification: readonly VerificationKey[];
  /** The JWKS document served at /.well-known/jwks.json. */
  readonly jwks: { readonly keys: readonly JWK[] };
}

export class KeyError extends Error {
  override readonly name = "KeyError";
}

export interface KeySources {
  readonly privateKey?: string;
  readonly privateKeyFile?: string;
  readonly keysDir?: string;
  /** Where a development key is created and kept when no key is configured. */
  readonly dataDir: string;
  readonly allowGenerate: boolean;
  /** Refuse (true: production) or only warn about a private-key file readable by group or others. */
  readonly strictFileModes?: boolean;
  readonly warn?: (message: string) => void;
}

const DEV_KEY_FILE = "jwt-signing-key.pem";

/**
 * Loads the signing keys, from the first source that is set:
 * JWT_PRIVATE_KEY, JWT_PRIVATE_KEY_FILE, JWT_KEYS_DIR, or (development only)
 * a key generated once into the data folder so tokens survive restarts.
 *
 * In JWT_KEYS_DIR, files are taken in name order and the last private key
 * signs; earlier private keys and public-only files (*.pub.pem, public JWKs)
 * only verify. Keep a retired key there until the last token it signed has
 * expired (ACCESS_TOKEN_TTL after it stopped signing).
 */
export async function loadKeyRing(src: KeySources): Promise<KeyRing> {
  const checkMode = async (path: string, variable: string) => {
    const problem = await looseKeyFileMode(path, variable);
    if (problem === null) return;
    if (src.strictFileModes) throw new KeyError(problem);
    src.warn?.(problem);
  };
  if (src.privateKey) return ringOf([parseKey(src.privateKey, "JWT_PRIVATE_KEY")]);
  if (src.privateKeyFile) {
    const text = await readText(src.privateKeyFile, "JWT_PRIVATE_KEY_FILE");
    const key = parseKey(text, "JWT_PRIVATE_KEY_FILE");
    if (key.type === "private") await checkMode(src.privateKeyFile, "JWT_PRIVATE_KEY_FILE");
    return ringOf([key]);
  }
  if (src.keysDir) return ringOf(await readKeysDir(src.keysDir, checkMode));
  if (!src.allowGenerate) throw new KeyError("JWT_PRIVATE_KEY: no signing key configured");
  return ringOf([await devKey(src.dataDir, checkMode)]);
}

async function readText(path: string, variable: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch {
    throw new KeyError(`${variable}: cannot read ${path}`);
  }
}

type ModeCheck = (path: string, variable: string) => Promise<void>;

async function readKeysDir(dir: string, checkMode: ModeCheck): Promise<KeyObject[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.(pem|jwk|json)$/.test(n)).sort();
  } catch {
    throw new KeyError(`JWT_KEYS_DIR: cannot read ${dir}`);
  }
  const keys = await Promise.all(
    names.map(async (n) => {
      const key = parseKey(await readText(join(dir, n), "JWT_KEYS_DIR"), `JWT_KEYS_DIR/${n}`);
      // Public halves may be world-readable; private ones may not.
      if (key.type === "private") await checkMode(join(dir, n), "JWT_KEYS_DIR");
      return key;
    }),
  );
  // Newest last in name order; the ring wants the signer first.
  return keys.reverse();
}

async function devKey(dataDir: string, checkMode: ModeCheck): Promise<KeyObject> {
  const path = join(dataDir, DEV_KEY_FILE);
  try {
    const key = parseKey(await readFile(path, "utf8"), path);
    await checkMode(path, "DATA_DIR");
    return key;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const { privateKey } = generateKeyPairSync("ed25519");
  await makePrivateDir(dataDir);
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  // "wx" fails if another process created the file meanwhile; then use theirs.
  try {
    await writeFile(path, pem, { flag: "wx", mode: 0o600 });
    await chmod(path, 0o600);
    return privateKey;
  } catch {
    return parseKey(await readFile(path, "utf8"), path);
  }
}

/** Parses a PEM (private or public) or a JWK; only Ed25519 keys are accepted. */
function parseKey(text: string, where: string): KeyObject {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    if (trimmed.startsWith("{")) {
      const jwk = JSON.parse(trimmed) as JWK & { d?: string };
      key = jwk.d
        ? createPrivateKey({ key: jwk as import("node:crypto").JsonWebKey, format: "jwk" })
        : createPublicKey({ key: jwk as import("node:crypto").JsonWebKey, format: "jwk" });
    } else if (trimmed.includes("PRIVATE KEY")) {
      key = createPrivateKey(trimmed);
    } else {
      key = createPublicKey(trimmed);
    }
  } catch {
    throw new KeyError(`${where}: not a valid PEM or JWK key`);
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new KeyError(`${where}: must be an Ed25519 key (got ${key.asymmetricKeyType ?? "unknown"})`);
  }
  return key;
}

async function ringOf(keys: KeyObject[]): Promise<KeyRing> {
  const signer = keys.find((k) => k.type === "private");
  if (!signer) throw new KeyError("JWT_KEYS_DIR: holds no private key to sign with");
  const ordered = [signer, ...keys.filter((k) => k !== signer)];
  const verification: VerificationKey[] = [];
  for (const key of ordered) {
    const publicKey = key.type === "private" ? createPublicKey(key) : key;
    const bare = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(bare);
    if (verification.some((v) => v.kid === kid)) continue;
    verification.push({ kid, publicKey, jwk: { ...bare, kid, alg: JWT_ALG, use: "sig" } });
  }
  const first = verification[0];
  if (!first) throw new KeyError("no signing key");
  return {
    signing: { kid: first.kid, privateKey: signer },
    verification,
    jwks: { keys: verification.map((v) => v.jwk) },
  };
}
