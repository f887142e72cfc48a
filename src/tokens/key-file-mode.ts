import { stat } from "node:fs/promises";

/**
 * A private signing key in a file that the group or others may read is a
 * key any local account (or another container sharing the volume) can copy.
 * Returns what is wrong with the file's mode, or null when only its owner
 * can read it. The caller refuses the start in production and warns in
 * development.
 */
export async function looseKeyFileMode(path: string, variable: string): Promise<string | null> {
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) === 0) return null;
  return `${variable}: ${path} holds a private key and is readable by group or others (mode ${mode.toString(8).padStart(4, "0")}); chmod 600 it`;
}
