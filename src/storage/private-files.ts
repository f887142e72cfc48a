import { chmod, mkdir } from "node:fs/promises";

/**
 * The data folder holds the SQLite database (password hashes, token
 * digests) and the development signing key: no other local user should
 * read it. Modes are set explicitly after creation rather than through the
 * process umask, which other code would inherit.
 */

/** Creates `path` (and missing parents) with mode 0700; an existing folder is left as its owner made it. */
export async function makePrivateDir(path: string): Promise<void> {
  const created = await mkdir(path, { recursive: true, mode: 0o700 });
  // mkdir's mode passes through the umask; chmod does not.
  if (created !== undefined) await chmod(path, 0o700);
}

/** Sets mode 0600 on each file that exists (an SQLite database and its -wal and -shm files). */
export async function restrictFiles(paths: readonly string[]): Promise<void> {
  for (const path of paths) {
    try {
      await chmod(path, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }
}
