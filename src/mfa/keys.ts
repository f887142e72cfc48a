import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** One AES-256 key of MFA_ENCRYPTION_KEYS with its id, stored beside what it encrypted. */
export interface MfaKey {
  readonly kid: string;
  readonly key: Buffer;
}

export class MfaKeyError extends Error {
  override readonly name = "MfaKeyError";
}

const KID_SHAPE = /^[A-Za-z0-9._-]{1,32}$/;
const KEY_BYTES = 32;
const DEV_KEY_FILE = "mfa-encryption-keys";

/**
 * Parses `kid:base64key[,kid:base64key...]`: each key exactly 32 bytes
 * (standard or URL-safe base64), ids unique. The first key encrypts; all of
 * them decrypt, so a new key goes first and an old one stays listed until
 * nothing encrypted with it is left. The message never echoes a key.
 */
export function parseMfaKeys(text: string, where = "MFA_ENCRYPTION_KEYS"): MfaKey[] {
  const entries = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (entries.length === 0) throw new MfaKeyError(`${where}: holds no key`);
  const keys: MfaKey[] = [];
  for (const [i, entry] of entries.entries()) {
    const colon = entry.indexOf(":");
    const kid = colon < 0 ? "" : entry.slice(0, colon);
    const encoded = colon < 0 ? "" : entry.slice(colon + 1);
    if (!KID_SHAPE.test(kid)) {
      throw new MfaKeyError(`${where}: entry ${i + 1} must be kid:base64key, kid of 1-32 letters, digits, . _ -`);
    }
    if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(encoded)) throw new MfaKeyError(`${where}: key "${kid}" is not base64`);
    const key = Buffer.from(encoded.replaceAll("-", "+").replaceAll("_", "/"), "base64");
    if (key.length !== KEY_BYTES) throw new MfaKeyError(`${where}: key "${kid}" must be ${KEY_BYTES} bytes`);
    if (keys.some((k) => k.kid === kid)) throw new MfaKeyError(`${where}: key id "${kid}" appears twice`);
    keys.push({ kid, key });
  }
  return keys;
}

export interface MfaKeySources {
  /** MFA_ENCRYPTION_KEYS, when set. */
  readonly configured?: string;
  /** Where a development key is created and kept when none is configured. */
  readonly dataDir: string;
  readonly allowGenerate: boolean;
}

/**
 * The keys from MFA_ENCRYPTION_KEYS or, outside production, from a key
 * generated once into the data folder (mode 0600) so that enrolled factors
 * survive restarts, like the development JWT key.
 */
export async function loadMfaKeys(src: MfaKeySources): Promise<MfaKey[]> {
  if (src.configured) return parseMfaKeys(src.configured);
  if (!src.allowGenerate) throw new MfaKeyError("MFA_ENCRYPTION_KEYS: no key configured");
  const path = join(src.dataDir, DEV_KEY_FILE);
  try {
    return parseMfaKeys(await readFile(path, "utf8"), path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const line = `dev-${randomBytes(4).toString("hex")}:${randomBytes(KEY_BYTES).toString("base64")}\n`;
  await mkdir(src.dataDir, { recursive: true });
  // "wx" fails if another process created the file meanwhile; then use theirs.
  try {
    await writeFile(path, line, { flag: "wx", mode: 0o600 });
    await chmod(path, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
  }
  return parseMfaKeys(await readFile(path, "utf8"), path);
}
