import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../src/config.js";
import { createOrm, migrate, type Orm } from "../../src/db/orm.js";
import { createSql } from "../../src/db/sql.js";
import { createUserRepository } from "../../src/db/user-repository.js";
import { createTestDatabase, describeEachDatabase, type TestDatabase } from "../helpers/databases.js";
import { uniqueUser } from "../helpers/server.js";

/**
 * `npm run admin`: the admin command as a real process against a real
 * database of each kind, with the service's environment (DATABASE_URL).
 */

const ROOT = join(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "node_modules", ".bin");

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `command args` in the repository with only the given environment (plus PATH to Node 22). */
function run(command: string, args: readonly string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { PATH: `${BIN}:${process.env.PATH ?? ""}`, HOME: process.env.HOME ?? tmpdir(), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`did not exit: ${stdout}${stderr}`));
    }, 60_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

// Each case starts a Node process or two; on a loaded machine one takes seconds.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

/** The compiled command, as `npm run admin` and the container image run it. */
const admin = (args: readonly string[], env: Record<string, string>) =>
  run(join(BIN, "node"), ["dist/src/cli/admin.js", ...args], env);

beforeAll(async () => {
  const build = await run("npm", ["run", "-s", "build"], {});
  expect(build.stderr).toBe("");
  expect(build.code).toBe(0);
});

await describeEachDatabase(describe, "admin command", (kind) => {
  let db: TestDatabase;
  let orm: Orm;
  let env: Record<string, string>;
  const alice = uniqueUser("alice");
  let aliceId = "";

  let users: ReturnType<typeof createUserRepository>;
  const rolesOf = async (id: string) => (await users.findById(id))?.roles;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    env = { DATABASE_URL: db.url };
    orm = await createOrm(loadConfig(env).database);
    await migrate(orm);
    users = createUserRepository(createSql(orm, kind));
    aliceId = (await users.create({ ...alice, passwordHash: "x" })).id;
  });
  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
  });

  it("when grant-role names a user by e-mail, then the role is stored, the output says so and an audit line names both sides", async () => {
    const r = await admin(["grant-role", alice.email.toUpperCase(), "admin"], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`granted role "admin" to ${alice.username} <${alice.email}> (id ${aliceId})`);
    expect(r.stdout).toContain("Roles now: admin");
    expect(await rolesOf(aliceId)).toEqual(["admin"]);
    const audit = r.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(audit).toContainEqual(
      expect.objectContaining({
        message: "audit",
        event: "role_granted",
        target_user_id: aliceId,
        actor: expect.stringMatching(/^cli:/),
        roles: ["admin"],
      }),
    );
  });

  it("when the same role is granted again, then nothing changes and the output says so", async () => {
    await admin(["grant-role", alice.username, "admin"], env);
    const r = await admin(["grant-role", alice.username, "admin"], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`already has role "admin"; nothing changed`);
    expect(await rolesOf(aliceId)).toEqual(["admin"]);
  });

  it("when roles are granted, listed and revoked by username in any case, then each step is stored and reported", async () => {
    expect((await admin(["grant-role", alice.username.toUpperCase(), "billing.read"], env)).code).toBe(0);
    const list = await admin(["list-roles", alice.username], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("has roles: admin, billing.read");
    const revoke = await admin(["revoke-role", alice.username, "admin"], env);
    expect(revoke.code).toBe(0);
    expect(revoke.stdout).toContain(`revoked role "admin" from ${alice.username}`);
    expect(await rolesOf(aliceId)).toEqual(["billing.read"]);
    const again = await admin(["revoke-role", alice.username, "admin"], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`does not have role "admin"; nothing changed`);
  });

  it("when the user does not exist, then exit 1 with a clear message and nothing changes", async () => {
    const r = await admin(["grant-role", "nobody@example.com", "admin"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no user with e-mail or username "nobody@example.com"`);
    expect(r.stdout).toBe("");
  });

  it("when the role name or the arguments are bad, then exit 2 with the rule or the usage, and nothing changes", async () => {
    const before = await rolesOf(aliceId);
    for (const role of ["Admin", "x".repeat(65)]) {
      const r = await admin(["grant-role", alice.email, role], env);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("invalid role");
    }
    for (const args of [[], ["promote", alice.email, "admin"]]) {
      const r = await admin(args, env);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("usage: npm run admin -- <command> <arguments>");
    }
    expect(await rolesOf(aliceId)).toEqual(before);
  });

  it("when the database has not been migrated, then exit 1 saying so, and the schema is left alone", async () => {
    const empty = await createTestDatabase(kind);
    try {
      if (kind === "sqlite") {
        // An existing but empty file: the service has never run on it.
        const o = await createOrm(loadConfig({ DATABASE_URL: empty.url }).database);
        await o.close(true);
      }
      const r = await admin(["grant-role", alice.email, "admin"], { DATABASE_URL: empty.url });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("the database schema is not up to date");
      expect(r.stderr).toContain("npm run migrate");
      const o = await createOrm(loadConfig({ DATABASE_URL: empty.url }).database);
      try {
        expect(await o.migrator.getExecuted()).toEqual([]);
      } finally {
        await o.close(true);
      }
    } finally {
      await empty.drop();
    }
  });

  if (kind === "sqlite") {
    it("when DATA_DIR holds no database, then exit 1 naming the path, and no database file is created", async () => {
      const dir = await mkdtemp(join(tmpdir(), "warden-cli-"));
      try {
        const r = await admin(["grant-role", alice.email, "admin"], { DATA_DIR: dir });
        expect(r.code).toBe(1);
        expect(r.stderr).toContain(`no database at ${join(dir, "warden.sqlite")}`);
        expect(existsSync(join(dir, "warden.sqlite"))).toBe(false);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it("when run as `npm run admin -- …`, then it builds, runs the compiled command and exits 0", async () => {
      const r = await run("npm", ["run", "-s", "admin", "--", "list-roles", alice.email], env);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`${alice.username} <${alice.email}>`);
      expect(existsSync(join(ROOT, "dist", "src", "cli", "admin.js"))).toBe(true);
    });
  } else {
    it("when PostgreSQL cannot be reached, then exit 1 saying so, with no password in the output", async () => {
      const r = await admin(["grant-role", alice.email, "admin"], {
        DATABASE_URL: "postgresql://postgres:s3cret-pw@127.0.0.1:1/warden",
        DB_TIMEOUT_MS: "1000",
      });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("cannot connect to the database: connect ECONNREFUSED");
      expect(`${r.stdout}${r.stderr}`).not.toContain("s3cret-pw");
    });

    it("when the PostgreSQL database does not exist, then exit 1 saying so, and it is not created", async () => {
      const url = new URL(db.url);
      url.pathname = `/warden_missing_${aliceId.replaceAll("-", "")}`;
      const r = await admin(["grant-role", alice.email, "admin"], { DATABASE_URL: url.toString() });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`database "${url.pathname.slice(1)}" does not exist`);
      const probe = await orm.em
        .getConnection()
        .execute<Array<{ n: number | string }>>(
          "select count(*) as n from pg_database where datname = ?",
          [url.pathname.slice(1)],
          "all",
        );
      expect(Number(probe[0]?.n)).toBe(0);
    });
  }
});
